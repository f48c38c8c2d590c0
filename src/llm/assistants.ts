import { ConfigError, type Config } from '../config/index.ts';
import type { AssistantConfig } from '../config/sections/chat.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import type { ChatModel } from './chat-model.ts';
import { OpenAIChatModel } from './openai-chat-model.ts';

// Maps the configured assistants (what clients ask for in `model`) to their generators.

export interface Assistant {
  id: string;
  settings: AssistantConfig;
  /** null: no upstream configured — the assistant answers extractively. */
  model: ChatModel | null;
}

/**
 * `activeAdapter(assistantId)` returns the adapter the registry has deployed for an assistant
 * (finetune/registry); when it returns null the configured `adapter` is used.
 */
export function buildAssistants(
  config: Config,
  log: Logger = silentLogger,
  activeAdapter?: (assistantId: string) => string | null,
): Map<string, Assistant> {
  const out = new Map<string, Assistant>();
  for (const [id, settings] of Object.entries(config.assistants)) {
    let model: ChatModel | null = null;
    if (settings.upstream) {
      const upstream = config.upstreams[settings.upstream];
      if (!upstream) {
        const known = Object.keys(config.upstreams);
        throw new ConfigError(`assistants.${id}.upstream: unknown upstream "${settings.upstream}" (configured: ${known.length ? known.join(', ') : 'none'})`);
      }
      model = new OpenAIChatModel({
        upstreamName: settings.upstream,
        baseUrl: upstream.base_url,
        apiKey: upstream.api_key,
        timeoutMs: upstream.timeout_ms,
        maxRetries: upstream.max_retries,
        model: settings.model,
        adapter: settings.adapter || undefined,
        resolveAdapter: activeAdapter ? () => activeAdapter(id) : undefined,
        adapterRetryMs: config.chat.adapter_retry_ms,
        thinkStartsOpen: settings.think_starts_open,
        log,
      });
    }
    out.set(id, { id, settings, model });
  }
  return out;
}

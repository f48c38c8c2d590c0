import { ConfigError, type Config } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { OpenAIChatModel } from './openai-chat-model.ts';

// The one place an upstream chat client is built from configuration (the server's assistants and
// `kb finetune eval` alike), so both talk to the model with the same timeouts, retries and
// <think> handling.

export interface ChatModelChoice {
  /** Model name at the upstream (the base model, or a LoRA adapter's served name). */
  model: string;
  /** Adapter tried first, falling back to `model` when the upstream lacks it (the server); none for eval. */
  adapter?: string;
  resolveAdapter?: () => string | null | undefined;
  thinkStartsOpen?: boolean;
}

export function chatModelFor(config: Pick<Config, 'upstreams' | 'chat'>, upstreamName: string, choice: ChatModelChoice, log: Logger = silentLogger, where = 'upstream'): OpenAIChatModel {
  const upstream = config.upstreams[upstreamName];
  if (!upstream) {
    const known = Object.keys(config.upstreams);
    throw new ConfigError(`${where}: unknown upstream "${upstreamName}" (configured: ${known.length ? known.join(', ') : 'none'})`);
  }
  return new OpenAIChatModel({
    upstreamName,
    baseUrl: upstream.base_url,
    apiKey: upstream.api_key,
    timeoutMs: upstream.timeout_ms,
    maxRetries: upstream.max_retries,
    model: choice.model,
    adapter: choice.adapter || undefined,
    resolveAdapter: choice.resolveAdapter,
    adapterRetryMs: config.chat.adapter_retry_ms,
    thinkStartsOpen: choice.thinkStartsOpen,
    log,
  });
}

import type { Config } from '../config/index.ts';
import type { AssistantConfig } from '../config/sections/chat.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import type { ChatModel } from './chat-model.ts';
import { chatModelFor } from './factory.ts';

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
      model = chatModelFor(
        config,
        settings.upstream,
        { model: settings.model, adapter: settings.adapter || undefined, resolveAdapter: activeAdapter ? () => activeAdapter(id) : undefined, thinkStartsOpen: settings.think_starts_open },
        log,
        `assistants.${id}.upstream`,
      );
    }
    out.set(id, { id, settings, model });
  }
  return out;
}

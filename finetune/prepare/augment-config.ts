import path from 'node:path';
import type { Config } from '../../src/config/index.ts';
import { chatModelFor } from '../../src/llm/factory.ts';
import type { Logger } from '../../src/log/index.ts';
import type { AugmentOptions } from './augment.ts';

/** finetune.augment → the augmenter's options (null when off); the cache sits beside the dataset folder. */
export function augmentFromConfig(config: Config, outDir: string, log?: Logger): AugmentOptions | null {
  const a = config.finetune.augment;
  if (!a.enabled) return null;
  const assistant = a.assistant || config.finetune_runs.assistant;
  const settings = config.assistants[assistant];
  if (!settings?.upstream) throw new Error(`finetune.augment: assistant "${assistant}" has no upstream to write question variants (assistants.${assistant}.upstream)`);
  return {
    chat: chatModelFor(config, settings.upstream, { model: settings.model, thinkStartsOpen: settings.think_starts_open }, log, `assistants.${assistant}.upstream`),
    model: settings.model,
    paraphrases: a.paraphrases,
    backTranslation: a.back_translation,
    maxRatio: a.max_ratio,
    cacheFile: path.join(path.dirname(path.resolve(outDir)), 'augment-cache.json'),
    concurrency: a.concurrency,
  };
}

import { dataPath, type Config } from '../config/index.ts';
import { LocalEmbedder, type LocalEmbedderOptions } from './local.ts';
import { OpenAIEmbedder, type OpenAIEmbedderOptions } from './openai.ts';
import type { Embedder } from './types.ts';

export interface CreateEmbedderOptions {
  local?: LocalEmbedderOptions;
  openai?: OpenAIEmbedderOptions;
}

/** The configured embedder (not yet loaded: call load(), which fails fast with a clear message). */
export function createEmbedder(config: Config, options: CreateEmbedderOptions = {}): Embedder {
  const settings = config.embedding;
  switch (settings.provider) {
    case 'local':
      return new LocalEmbedder(settings, dataPath(config, 'models'), options.local);
    case 'openai':
      return new OpenAIEmbedder(settings, options.openai);
  }
}

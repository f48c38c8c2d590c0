export { EmbedderUnavailableError, type Embedder } from './types.ts';
export {
  LocalEmbedder,
  DTYPE_FILE_SUFFIX,
  requiredModelFiles,
  type EmbeddingConfig,
  type LocalEmbedderOptions,
} from './local.ts';
export { OpenAIEmbedder, type OpenAIEmbedderOptions } from './openai.ts';
export {
  EmbeddingCache,
  embedWithCache,
  vectorToBuffer,
  bufferToVector,
  type EmbedItem,
  type EmbedWithCacheOptions,
  type EmbedWithCacheResult,
} from './cache.ts';
export { createEmbedder, type CreateEmbedderOptions } from './factory.ts';

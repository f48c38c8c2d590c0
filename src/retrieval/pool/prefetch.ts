import type { Config } from '../../config/index.ts';
import { createEmbedder } from '../../embeddings/factory.ts';
import { LocalEmbedder } from '../../embeddings/local.ts';
import type { Logger } from '../../log/index.ts';

/**
 * Downloads a missing local query model ONCE before the workers start. Otherwise every worker
 * would fetch the same files into the same models folder at the same time. Failure is not
 * fatal: the workers then report the dense leg as degraded, as the in-process retriever does.
 */
export async function prefetchQueryModel(config: Config, log: Logger): Promise<void> {
  const embedder = createEmbedder(config);
  if (!(embedder instanceof LocalEmbedder) || !config.embedding.allow_remote || embedder.missingFiles().length === 0) return;
  log.info({ model: config.embedding.model }, 'downloading the query embedding model before starting the retrieval workers');
  try {
    await embedder.load();
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'query embedding model unavailable: retrieval runs on BM25 only until it is');
  } finally {
    await embedder.dispose?.();
  }
}

import type { Config } from '../config/index.ts';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { createEmbedder, type CreateEmbedderOptions } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import { DenseIndexReader } from '../vector/reader.ts';
import { createHybridRetriever, type HybridRetriever } from './hybrid.ts';

export interface OpenedRetriever {
  retriever: HybridRetriever;
  reader: DenseIndexReader;
  /** The query embedder (not loaded yet: the retriever loads it on first use). */
  embedder: Embedder;
  close(): Promise<void>;
}

/**
 * The production retriever over a store: the dense reader (hot-swaps to a newly activated
 * index version) + the configured query embedder + BM25, shared by `kb serve` and `kb search`.
 */
export async function openRetriever(config: Config, db: DB, log: Logger = silentLogger, opts: { watch?: boolean; embedder?: CreateEmbedderOptions } = {}): Promise<OpenedRetriever> {
  const reader = new DenseIndexReader({ db, dataDir: config.data_dir, efSearch: config.index.ef_search, reloadIntervalMs: config.index.reload_interval_ms, log });
  if (opts.watch === false) await reader.maybeReload({ force: true });
  else await reader.start();
  const embedder = createEmbedder(config, opts.embedder);
  const retriever = createHybridRetriever({ db, dense: reader, embedder, config });
  return {
    retriever,
    reader,
    embedder,
    async close() {
      reader.stop();
      await embedder.dispose?.();
    },
  };
}

import type { Config } from '../config/index.ts';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { createEmbedder } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import { DenseIndexReader } from '../vector/reader.ts';
import { createHybridRetriever, type HybridRetriever } from './hybrid.ts';

export interface OpenedRetriever {
  retriever: HybridRetriever;
  reader: DenseIndexReader;
  close(): Promise<void>;
}

/**
 * The production retriever over a store: the dense reader (hot-swaps to a newly activated
 * index version) + the configured query embedder + BM25, shared by `kb serve` and `kb search`.
 */
export async function openRetriever(config: Config, db: DB, log: Logger = silentLogger, opts: { watch?: boolean; embedder?: Embedder } = {}): Promise<OpenedRetriever> {
  const reader = new DenseIndexReader({ db, dataDir: config.data_dir, efSearch: config.index.ef_search, reloadIntervalMs: config.index.reload_interval_ms, log });
  if (opts.watch === false) await reader.maybeReload({ force: true });
  else await reader.start();
  const embedder = opts.embedder ?? createEmbedder(config);
  // A shared embedder (replicas keep one model across snapshot generations) is the caller's to dispose.
  const ownEmbedder = !opts.embedder;
  const retriever = createHybridRetriever({ db, dense: reader, embedder, config });
  return {
    retriever,
    reader,
    async close() {
      reader.stop();
      if (ownEmbedder) await embedder.dispose?.();
    },
  };
}

import type { Config } from '../config/index.ts';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { createEmbedder, type CreateEmbedderOptions } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import { DenseIndexReader } from '../vector/reader.ts';
import { createHybridRetriever, type HybridRetriever } from './hybrid.ts';
import { Bm25Leg } from '../bm25/leg.ts';

export interface OpenedRetriever {
  retriever: HybridRetriever;
  reader: DenseIndexReader;
  bm25: Bm25Leg;
  /** The query embedder (not loaded yet: the retriever loads it on first use). */
  embedder: Embedder;
  close(): Promise<void>;
}

/**
 * The production retriever over a store: the dense reader (hot-swaps to a newly activated
 * index version) + the configured query embedder + BM25, shared by `kb serve` and `kb search`.
 * `embedder`: a shared query embedder (replicas keep one model across snapshot generations; the
 * caller disposes it). `embedderOptions`: how to build our own (worker threads size ONNX threads).
 */
export async function openRetriever(
  config: Config,
  db: DB,
  log: Logger = silentLogger,
  opts: { watch?: boolean; embedder?: Embedder; embedderOptions?: CreateEmbedderOptions } = {},
): Promise<OpenedRetriever> {
  const reader = new DenseIndexReader({ db, dataDir: config.data_dir, efSearch: config.index.ef_search, reloadIntervalMs: config.index.reload_interval_ms, log });
  if (opts.watch === false) await reader.maybeReload({ force: true });
  else await reader.start();
  const embedder = opts.embedder ?? createEmbedder(config, opts.embedderOptions);
  // A shared embedder (replicas keep one model across snapshot generations) is the caller's to dispose.
  const ownEmbedder = !opts.embedder;
  const bm25 = new Bm25Leg({ db, dataDir: config.data_dir, log });
  bm25.reload(); // load (and checksum) the active BM25 version now rather than on the first query
  const retriever = createHybridRetriever({ db, dense: reader, embedder, config, bm25 });
  return {
    retriever,
    reader,
    bm25,
    embedder,
    async close() {
      reader.stop();
      if (ownEmbedder) await embedder.dispose?.();
    },
  };
}

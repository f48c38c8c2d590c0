import os from 'node:os';

// How many workers and ONNX threads the configured `auto` values mean on this machine.

export const cores = (): number => os.availableParallelism();

/**
 * Memory the server may use: the container's (cgroup) limit when it has one, else the machine's.
 * Node reports an unlimited cgroup as a huge number or undefined, hence the min.
 */
export function usableMemory(): number {
  const limit = process.constrainedMemory?.();
  return Math.min(os.totalmem(), limit && limit > 0 ? limit : Infinity);
}

/** What one retrieval worker holds besides its index copies: model session, catalog, heap (measured ≈ 0.5–0.7 GiB at 1M chunks). */
export const WORKER_BASE_BYTES = 512 * 2 ** 20;

/** Share of `usableMemory()` that `auto` lets the workers take together. */
export const AUTO_MEMORY_SHARE = 0.6;

export interface WorkerMemory {
  /** Bytes of the index files every worker loads a copy of (active HNSW + BM25 versions). */
  indexBytes: number;
  /** usableMemory(). */
  memoryBytes: number;
}

/**
 * `server.retrieval_workers`: 'auto' = one per core, but never more workers than the memory
 * holds — every worker loads its own copy of the dense and BM25 indexes (hnswlib cannot share
 * one across threads), so one per core on a 16-core host at 3M chunks would need ≈ 90 GiB. 0 =
 * in-process. An explicit number is taken as given (the server warns when it is too many).
 */
export function resolveWorkerCount(setting: 'auto' | number, available = cores(), memory?: WorkerMemory): number {
  if (setting !== 'auto') return setting;
  const byCores = Math.max(1, available);
  if (!memory) return byCores;
  return Math.max(1, Math.min(byCores, Math.floor((memory.memoryBytes * AUTO_MEMORY_SHARE) / (memory.indexBytes + WORKER_BASE_BYTES))));
}

/**
 * `server.embedding_threads` per worker: 'auto' shares the cores among the workers (at least
 * one each), so W workers × T threads ≈ cores instead of W × cores spinning ONNX threads.
 */
export function resolveEmbeddingThreads(setting: 'auto' | number, workers: number, available = cores()): number {
  return setting === 'auto' ? Math.max(1, Math.floor(available / Math.max(1, workers))) : setting;
}

/**
 * `server.retrieval_worker_concurrency`: with a local embedder a worker's requests compete for
 * its thread and ONNX threads, so 2 (one embeds while the other queries SQLite) is enough; with an
 * embeddings server each request spends its embedding time waiting on the network, during which
 * a worker with only 2 slots would idle.
 */
export function resolveWorkerConcurrency(setting: 'auto' | number, embeddingProvider: 'local' | 'openai'): number {
  if (setting !== 'auto') return setting;
  return embeddingProvider === 'openai' ? 8 : 2;
}

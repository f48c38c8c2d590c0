import os from 'node:os';

// How many workers and ONNX threads the configured `auto` values mean on this machine.

export const cores = (): number => os.availableParallelism();

/** `server.retrieval_workers`: 'auto' = one per core; 0 = in-process. */
export function resolveWorkerCount(setting: 'auto' | number, available = cores()): number {
  return setting === 'auto' ? Math.max(1, available) : setting;
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

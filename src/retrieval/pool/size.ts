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

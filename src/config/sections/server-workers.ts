import { z } from 'zod';

// `server:` keys of the retrieval worker pool (see config/default.yaml). Spread into the server
// section's object in ../schema.ts so the section stays one strict object.

const autoOrCount = (max: number) => z.union([z.literal('auto'), z.number().int().min(0).max(max)]);

export const serverWorkerFields = {
  /** Worker threads that run retrieval: 'auto' = one per core, 0 = in the server's own thread. */
  retrieval_workers: autoOrCount(256).default('auto'),
  /**
   * Requests one worker runs at once (one's query embedding overlaps another's SQLite work).
   * 'auto' = 2 with a local embedder, 8 with an embeddings server (requests wait on the network).
   */
  retrieval_worker_concurrency: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
  /** Requests that may wait for a free worker; beyond it the server answers 503 + Retry-After. */
  retrieval_queue_depth: z.number().int().min(0).default(256),
  /** A request that waited this long for a worker fails with 503 + Retry-After instead. */
  retrieval_queue_timeout_ms: z.number().int().positive().default(10_000),
  /** ONNX Runtime intra-op threads of each worker's local query embedder: 'auto' = cores / workers. */
  embedding_threads: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
};

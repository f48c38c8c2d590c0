import type { Config } from '../../config/index.ts';
import type { DenseIndexStatus } from '../../vector/reader.ts';
import type { RetrieveRequest, RetrieveResult } from '../types.ts';

// Messages between the retrieval pool (server thread) and its worker threads. Everything here
// crosses a structured clone, so it is plain data: no class instances, no functions.

/** What a worker needs to open its own retriever (passed as workerData). */
export interface WorkerInit {
  /** Index of the worker slot (logs, status). */
  slot: number;
  config: Config;
  /** The server logger's level (a silenced server has silent workers too). */
  logLevel: string;
  /** SQLite store file, opened read-only by the worker. */
  storeFile: string;
  /** ONNX Runtime intra-op threads for the local query embedder (undefined: runtime default). */
  embeddingThreads?: number;
  /** How often the worker checks whether its index status changed and reports it. */
  statusIntervalMs: number;
  /** Module the bootstrap imports (the worker entry, or a test's wrapper around it). */
  script: string;
}

export type ToWorker =
  | { type: 'retrieve'; id: number; req: RetrieveRequest }
  /** Release the store, index and embedder, then exit. */
  | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
}

export type FromWorker =
  /** Opened: the dense index version (if any) is loaded; requests may come. */
  | { type: 'ready'; status: DenseIndexStatus }
  /** Opening failed: the worker exits after sending this. */
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; result: RetrieveResult }
  | { type: 'error'; id: number; error: SerializedError }
  /** The dense index status changed (a new version loaded, a load failed, …). */
  | { type: 'status'; status: DenseIndexStatus };

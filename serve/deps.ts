import type { Config } from '../src/config/index.ts';
import type { Assistant } from '../src/llm/assistants.ts';
import type { Logger } from '../src/log/index.ts';
import type { Retriever } from '../src/retrieval/types.ts';
import type { DB } from '../src/store/index.ts';
import type { ServerMetrics } from './metrics.ts';

/** What /readyz and /v1/admin/index report about the dense index (`loaded` decides readiness). */
export interface IndexStatusReport {
  loaded: boolean;
  [key: string]: unknown;
}
export type IndexStatusProvider = () => IndexStatusReport | Promise<IndexStatusReport>;

/**
 * Starts an ingestion run in the background and resolves with its id once the run exists.
 * Rejects with an error whose `code` is 'ingest_running' when another run holds the lock.
 * `sources` limits the run (the upload API ingests only the `uploads` source).
 */
export type StartIngestion = (opts?: { sources?: string[] }) => Promise<{ run_id: number }>;

/** In-flight work, so shutdown can wait for it and, past the deadline, abort it. */
export class Lifecycle {
  closing = false;
  readonly controllers = new Set<AbortController>();
  private inflightCount = 0;
  private idleWaiters: Array<() => void> = [];

  get inflight(): number {
    return this.inflightCount;
  }

  begin(): () => void {
    this.inflightCount++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inflightCount--;
      if (this.inflightCount === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
  }

  /** Resolves true when nothing is in flight, false when `ms` passed first. */
  waitIdle(ms: number): Promise<boolean> {
    if (this.inflightCount === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  abortAll(reason: string): void {
    for (const c of this.controllers) c.abort(new Error(reason));
  }
}

export interface AppDeps {
  config: Config;
  db: DB;
  retriever: Retriever;
  log: Logger;
  assistants: Map<string, Assistant>;
  metrics: ServerMetrics;
  lifecycle: Lifecycle;
  /** Whether /v1 requires a key right now. */
  authRequired: () => boolean;
  indexStatus?: IndexStatusProvider;
  startIngestion?: StartIngestion;
}

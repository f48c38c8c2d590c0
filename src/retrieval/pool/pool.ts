import { Worker } from 'node:worker_threads';
import type { Config } from '../../config/index.ts';
import { silentLogger, type Logger } from '../../log/index.ts';
import type { DenseIndexStatus } from '../../vector/reader.ts';
import { RetrievalRequestError } from '../hybrid.ts';
import type { RetrieveRequest, RetrieveResult, Retriever } from '../types.ts';
import { RetrievalUnavailableError } from './errors.ts';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.ts';
import { mergeIndexStatus, type PoolIndexStatus } from './status.ts';

// A Retriever that runs every retrieval in a pool of worker threads, so BM25 (SQLite), the HNSW
// search, hydration and the local query embedding use every core and the server's own event
// loop only parses, queues and answers — /healthz, /metrics and admin stay responsive while
// retrieval is saturated.
//
// - Bounded queue: a request waits for a free worker slot at most `queueTimeoutMs`, and at most
//   `queueDepth` requests wait; beyond that it fails at once with RetrievalUnavailableError
//   (503 + Retry-After) instead of adding unbounded latency for everyone.
// - Crash: a worker that dies fails its in-flight requests with RetrievalUnavailableError and is
//   replaced (with backoff when it keeps failing to start); queued requests go to the others.
// - close(): stops taking requests, drains the queue and in-flight work (bounded), then asks each
//   worker to release its store/index/embedder and exit, terminating it if it does not.

export interface RetrievalPoolOptions {
  config: Config;
  /** SQLite store file; each worker opens it read-only. */
  storeFile: string;
  workers: number;
  /** Requests one worker runs at once. */
  concurrency: number;
  queueDepth: number;
  queueTimeoutMs: number;
  /** ONNX Runtime intra-op threads of each worker's local embedder. */
  embeddingThreads?: number;
  log?: Logger;
  /** Worker module (default: ./worker.ts); tests pass a wrapper that adds hooks. */
  script?: URL;
  /** Bound on all workers opening (a 1M-vector index takes seconds to load). Default 300 s. */
  startTimeoutMs?: number;
  /** How often workers report index status changes (default: index.reload_interval_ms, ≤ 1 s). */
  statusIntervalMs?: number;
}

interface Pending {
  req: RetrieveRequest;
  resolve(r: RetrieveResult): void;
  reject(e: Error): void;
  enqueuedAt: number;
  dispatchedAt: number;
  timer: NodeJS.Timeout | null;
}

interface Slot {
  index: number;
  worker: Worker | null;
  ready: boolean;
  inflight: Map<number, Pending>;
  status: DenseIndexStatus | null;
  /** Consecutive failures to start (reset once a worker becomes ready). */
  startFailures: number;
  lastError: string | null;
  respawnTimer: NodeJS.Timeout | null;
}

export interface PoolStats {
  workers: number;
  ready: number;
  queued: number;
  inflight: number;
  restarts: number;
}

const BOOTSTRAP = new URL('./bootstrap.mjs', import.meta.url);
const WORKER = new URL('./worker.ts', import.meta.url);
const MAX_RESPAWN_DELAY_MS = 30_000;
const EXIT_GRACE_MS = 5_000;

const round = (x: number) => Math.round(x * 1000) / 1000;

function reviveError(e: SerializedError): Error {
  // The retriever's own validation errors keep their class: the HTTP layer answers them with 400.
  if (e.name === 'RetrievalRequestError') return new RetrievalRequestError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class RetrievalPool implements Retriever {
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private readonly log: Logger;
  private seq = 0;
  private restarts = 0;
  private closing = false;
  private closed: Promise<void> | null = null;
  private drainWaiters: Array<() => void> = [];
  private nextSlot = 0;

  private constructor(private readonly opts: RetrievalPoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`a retrieval pool needs at least one worker, got ${opts.workers}`);
    this.log = opts.log ?? silentLogger;
    this.slots = Array.from({ length: opts.workers }, (_, index) => ({
      index,
      worker: null,
      ready: false,
      inflight: new Map(),
      status: null,
      startFailures: 0,
      lastError: null,
      respawnTimer: null,
    }));
  }

  /** Starts the workers; resolves once every one has opened its store, index and embedder. */
  static async start(opts: RetrievalPoolOptions): Promise<RetrievalPool> {
    const pool = new RetrievalPool(opts);
    const timeout = opts.startTimeoutMs ?? 300_000;
    try {
      await Promise.all(pool.slots.map((s) => pool.spawn(s, timeout)));
    } catch (err) {
      await pool.close(0);
      throw err;
    }
    pool.log.info({ workers: opts.workers, concurrency: opts.concurrency, embedding_threads: opts.embeddingThreads ?? null }, 'retrieval worker pool ready');
    return pool;
  }

  retrieve(req: RetrieveRequest): Promise<RetrieveResult> {
    if (this.closing) return Promise.reject(new RetrievalUnavailableError('The server is shutting down; retry shortly.', 'shutting_down'));
    return new Promise<RetrieveResult>((resolve, reject) => {
      const p: Pending = { req, resolve, reject, enqueuedAt: performance.now(), dispatchedAt: 0, timer: null };
      const slot = this.freeSlot();
      if (slot) return this.dispatch(slot, p);
      if (this.queue.length >= this.opts.queueDepth) {
        return reject(
          new RetrievalUnavailableError(
            `Retrieval is saturated: ${this.inflightCount()} requests running and ${this.queue.length} waiting (server.retrieval_queue_depth). Retry shortly.`,
            'retrieval_overloaded',
          ),
        );
      }
      p.timer = setTimeout(() => {
        const i = this.queue.indexOf(p);
        if (i < 0) return;
        this.queue.splice(i, 1);
        this.notifyDrain();
        reject(new RetrievalUnavailableError(`Retrieval is saturated: no worker was free within ${this.opts.queueTimeoutMs} ms (server.retrieval_queue_timeout_ms). Retry shortly.`, 'retrieval_overloaded'));
      }, this.opts.queueTimeoutMs);
      this.queue.push(p);
    });
  }

  /** Dense index status merged over the workers (for /readyz and /v1/admin/index). */
  indexStatus(): PoolIndexStatus {
    return { ...mergeIndexStatus(this.slots.map((s) => ({ slot: s.index, ready: s.ready, status: s.status }))), pool: this.stats() };
  }

  stats(): PoolStats {
    return { workers: this.slots.length, ready: this.slots.filter((s) => s.ready).length, queued: this.queue.length, inflight: this.inflightCount(), restarts: this.restarts };
  }

  /**
   * Stops taking requests, lets queued and running ones finish (at most `drainMs`; the rest fail
   * with 'shutting_down'), then closes every worker.
   */
  close(drainMs = 10_000): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      for (const s of this.slots) if (s.respawnTimer) clearTimeout(s.respawnTimer);
      if (this.queue.length + this.inflightCount() > 0 && drainMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          this.drainWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const gone = new RetrievalUnavailableError('The server is shutting down; retry shortly.', 'shutting_down');
      for (const p of this.queue.splice(0)) {
        if (p.timer) clearTimeout(p.timer);
        p.reject(gone);
      }
      await Promise.all(this.slots.map((s) => this.stopWorker(s)));
      for (const s of this.slots) for (const p of s.inflight.values()) p.reject(gone);
      this.log.info({ restarts: this.restarts }, 'retrieval worker pool stopped');
    })();
    return this.closed;
  }

  // ---------- internals ----------

  private inflightCount(): number {
    let n = 0;
    for (const s of this.slots) n += s.inflight.size;
    return n;
  }

  /** The ready worker with the fewest requests running (round-robin among equals), or null. */
  private freeSlot(): Slot | null {
    let best: Slot | null = null;
    const n = this.slots.length;
    for (let k = 0; k < n; k++) {
      const s = this.slots[(this.nextSlot + k) % n];
      if (!s.ready || s.inflight.size >= this.opts.concurrency) continue;
      if (!best || s.inflight.size < best.inflight.size) best = s;
    }
    if (best) this.nextSlot = (best.index + 1) % n;
    return best;
  }

  private dispatch(slot: Slot, p: Pending): void {
    const id = ++this.seq;
    p.dispatchedAt = performance.now();
    slot.inflight.set(id, p);
    slot.worker!.postMessage({ type: 'retrieve', id, req: p.req } satisfies ToWorker);
  }

  /** Hands queued requests to free workers. */
  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.freeSlot();
      if (!slot) break;
      const p = this.queue.shift()!;
      if (p.timer) clearTimeout(p.timer);
      this.dispatch(slot, p);
    }
    this.notifyDrain();
  }

  private notifyDrain(): void {
    if (this.queue.length === 0 && this.inflightCount() === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  private settle(slot: Slot, id: number, outcome: { result: RetrieveResult } | { error: Error }): void {
    const p = slot.inflight.get(id);
    if (!p) return;
    slot.inflight.delete(id);
    if ('error' in outcome) p.reject(outcome.error);
    else {
      // The worker's own stage timings, plus what the pool added: the wait for a free worker
      // (`queue`) and the thread hand-off both ways (`transfer`); `total` is end to end.
      const r = outcome.result;
      const now = performance.now();
      const workerTotal = r.timings.total ?? 0;
      r.timings = {
        ...r.timings,
        queue: round(p.dispatchedAt - p.enqueuedAt),
        transfer: round(Math.max(0, now - p.dispatchedAt - workerTotal)),
        total: round(now - p.enqueuedAt),
      };
      p.resolve(r);
    }
    this.pump();
  }

  /** Starts a worker in `slot`; resolves when it is ready, rejects when it fails to open. */
  private spawn(slot: Slot, startTimeoutMs: number): Promise<void> {
    const init: WorkerInit = {
      slot: slot.index,
      config: this.opts.config,
      logLevel: this.log.level,
      storeFile: this.opts.storeFile,
      embeddingThreads: this.opts.embeddingThreads,
      statusIntervalMs: this.opts.statusIntervalMs ?? Math.min(1000, this.opts.config.index.reload_interval_ms),
      script: (this.opts.script ?? WORKER).href,
    };
    // Loader flags of this process (--import tsx, vitest's hooks) are not passed on: the
    // bootstrap registers tsx itself.
    const worker = new Worker(BOOTSTRAP, { workerData: init, execArgv: [], name: `kb-retrieval-${slot.index}` });
    slot.worker = worker;
    slot.ready = false;
    slot.lastError = null;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => {
        if (started) return;
        reject(new Error(`retrieval worker ${slot.index} did not open within ${startTimeoutMs} ms`));
        void worker.terminate();
      }, startTimeoutMs);
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            started = true;
            clearTimeout(timer);
            slot.ready = true;
            slot.status = msg.status;
            slot.startFailures = 0;
            resolve();
            this.pump();
            break;
          case 'failed':
            slot.lastError = msg.error.message;
            clearTimeout(timer);
            reject(new Error(`retrieval worker ${slot.index} could not open the retriever: ${msg.error.message}`));
            break;
          case 'status':
            slot.status = msg.status;
            break;
          case 'result':
            this.settle(slot, msg.id, { result: msg.result });
            break;
          case 'error':
            this.settle(slot, msg.id, { error: reviveError(msg.error) });
            break;
        }
      });
      worker.on('error', (err) => {
        slot.lastError = err.message;
        this.log.error({ worker: slot.index, err: err.message }, 'retrieval worker crashed');
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        if (!started) reject(new Error(`retrieval worker ${slot.index} exited with code ${code} while opening${slot.lastError ? `: ${slot.lastError}` : ''}`));
        this.onExit(slot, worker, code, started);
      });
    });
  }

  private onExit(slot: Slot, worker: Worker, code: number, wasReady: boolean): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.ready = false;
    const why = slot.lastError ? `: ${slot.lastError}` : '';
    const failed = new RetrievalUnavailableError(`The retrieval worker running this request stopped (exit code ${code}${why}); retry the request.`, 'retrieval_worker_failed');
    for (const p of slot.inflight.values()) p.reject(failed);
    slot.inflight.clear();
    this.notifyDrain();
    if (this.closing) return;

    this.restarts++;
    if (!wasReady) slot.startFailures++;
    // A worker that crashed while serving is replaced at once; one that keeps failing to open
    // (store or index unreadable) is retried with backoff rather than in a tight loop.
    const delay = slot.startFailures === 0 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 500 * 2 ** slot.startFailures);
    this.log.error({ worker: slot.index, code, reason: slot.lastError, respawn_in_ms: delay }, 'retrieval worker exited; starting a replacement');
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = null;
      if (this.closing) return;
      this.spawn(slot, this.opts.startTimeoutMs ?? 300_000).catch((err: unknown) =>
        this.log.error({ worker: slot.index, err: (err as Error).message }, 'replacement retrieval worker failed to start'),
      );
    }, delay);
    slot.respawnTimer.unref();
    // Queued requests meanwhile go to the other workers (or time out with 503).
    this.pump();
  }

  private async stopWorker(slot: Slot): Promise<void> {
    const worker = slot.worker;
    if (!worker) return;
    slot.ready = false;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      worker.postMessage({ type: 'close' } satisfies ToWorker);
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => void worker.terminate(), EXIT_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

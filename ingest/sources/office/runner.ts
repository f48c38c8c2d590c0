import { Worker } from 'node:worker_threads';
import type { BinaryFormat, ExtractResult } from './extract.ts';

// Runs extraction in a worker thread with a time and memory limit. A parser that hangs (a crafted
// PDF can loop pdf.js forever) or blows up its heap is terminated; the file is quarantined as
// `parse_timeout` / `corrupt_file` and the next file gets a fresh worker. The thread is kept
// between files, so a folder of a thousand PDFs pays the start-up (loading pdf.js) once.

export interface FileParserOptions {
  /** Wall-clock limit per file, counted from when the worker has the job (start-up excluded). */
  timeoutMs: number;
  /** Heap limit of the worker (MB): a decompression bomb fails there, not in the ingest process. */
  maxHeapMb?: number;
  /** The worker script; tests substitute one that misbehaves. */
  workerUrl?: URL;
}

interface Pending {
  resolve: (r: ExtractResult) => void;
  timer?: NodeJS.Timeout;
}

const DEFAULT_WORKER = new URL('./worker.mjs', import.meta.url);

export class FileParser {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: FileParserOptions) {
    if (!(opts.timeoutMs > 0)) throw new Error(`timeoutMs must be positive, got ${opts.timeoutMs}`);
  }

  /** Extracts one file. Jobs run one at a time; never rejects for a bad file. */
  parse(data: Buffer, format: BinaryFormat): Promise<ExtractResult> {
    const run = this.queue.then(() => this.run(data, format));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker (idempotent). */
  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    if (w) await w.terminate();
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(this.opts.workerUrl ?? DEFAULT_WORKER, {
      resourceLimits: { maxOldGenerationSizeMb: this.opts.maxHeapMb ?? 1024 },
      stdout: false,
      stderr: true,
    });
    // pdf.js warns on stderr about recoverable damage ("Indexing all PDF objects"); it is not ours to print.
    worker.stderr.resume();
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { ready?: boolean; id?: number; result?: ExtractResult }) => {
        if (m.ready) return resolve();
        const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
        if (!p || !m.result) return;
        clearTimeout(p.timer);
        this.pending.delete(m.id!);
        p.resolve(m.result);
      };
      worker.on('message', onMessage);
      worker.on('error', (err) => {
        reject(err);
        this.fail(worker, `the parser crashed: ${err.message.split('\n')[0]}`);
      });
      worker.on('exit', (code) => {
        reject(new Error(`file parser worker exited with code ${code} during start-up`));
        this.fail(worker, `the parser stopped (exit code ${code}), probably out of memory`);
      });
    });
    return this.ready;
  }

  /** Resolves every job of a dead worker as a corrupt file and forgets the worker. */
  private fail(worker: Worker, detail: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.ready = null;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve({ ok: false, reason: 'corrupt_file', detail });
    }
  }

  private async run(data: Buffer, format: BinaryFormat): Promise<ExtractResult> {
    await this.start();
    const worker = this.worker!;
    const id = this.nextId++;
    return new Promise<ExtractResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // Terminating is the only way to stop a busy parser; the next file starts a new worker.
        this.worker = null;
        this.ready = null;
        void worker.terminate();
        resolve({ ok: false, reason: 'parse_timeout', detail: `parsing took longer than ${this.opts.timeoutMs} ms and was stopped` });
      }, this.opts.timeoutMs);
      this.pending.set(id, { resolve, timer });
      // A copy: the caller's Buffer may be a slice of a pooled ArrayBuffer.
      worker.postMessage({ id, format, data: new Uint8Array(data) });
    });
  }
}

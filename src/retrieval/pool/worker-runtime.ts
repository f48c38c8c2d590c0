import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../log/index.ts';
import { openStore, type DB } from '../../store/index.ts';
import { openRetriever, type OpenedRetriever } from '../open.ts';
import type { RetrieveRequest } from '../types.ts';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.ts';

// One retrieval worker: its own read-only SQLite connection, its own dense index reader (which
// hot-reloads new versions exactly like the in-process one) and its own query embedder — i.e.
// the very retriever `openRetriever` builds for the in-process server, whatever BM25 engine and
// fusion it uses. The pool only moves requests and results across the thread boundary.

export interface WorkerHooks {
  /** Runs before each retrieval (tests use it to simulate slow queries and crashes). */
  beforeRetrieve?(req: RetrieveRequest): void | Promise<void>;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

export async function runRetrievalWorker(hooks: WorkerHooks = {}): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runRetrievalWorker must run in a worker thread');
  const init = workerData as WorkerInit;
  const send = (msg: FromWorker) => port.postMessage(msg);
  const log = createLogger(init.logLevel).child({ retrieval_worker: init.slot });

  let db: DB | null = null;
  let opened: OpenedRetriever;
  try {
    db = openStore(init.storeFile, { readonly: true });
    opened = await openRetriever(init.config, db, log, {
      embedderOptions: { local: { intraOpThreads: init.embeddingThreads } },
      warm: true,
    });
  } catch (err) {
    db?.close();
    send({ type: 'failed', error: serializeError(err) });
    port.close();
    return;
  }
  // Load the query model before taking requests, so the first ones do not pay for it. A model
  // that cannot load is not fatal: the retriever runs BM25 only and says why in `degraded`.
  await opened.embedder.load().catch((err: unknown) => log.warn({ err: serializeError(err).message }, 'query embedder unavailable in retrieval worker'));

  const reader = opened.reader;
  let lastStatus = JSON.stringify(reader.status());
  send({ type: 'ready', status: reader.status() });
  // The reader swaps versions on its own timer; report changes so /readyz and /v1/admin/index
  // answer from the server thread without a round trip to a (possibly busy) worker.
  const statusTimer = setInterval(() => {
    const st = reader.status();
    const json = JSON.stringify(st);
    if (json !== lastStatus) {
      lastStatus = json;
      send({ type: 'status', status: st });
    }
  }, init.statusIntervalMs);

  const handle = async (id: number, req: RetrieveRequest) => {
    try {
      await hooks.beforeRetrieve?.(req);
      const result = await opened.retriever.retrieve(req);
      send({ type: 'result', id, result });
    } catch (err) {
      send({ type: 'error', id, error: serializeError(err) });
    }
  };

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'retrieve') void handle(msg.id, msg.req);
    else if (msg.type === 'close') {
      clearInterval(statusTimer);
      void opened
        .close()
        .catch((err: unknown) => log.warn({ err: serializeError(err).message }, 'retrieval worker: error while closing'))
        .finally(() => {
          db?.close();
          port.close(); // nothing else keeps the thread alive: it exits
        });
    }
  });
}

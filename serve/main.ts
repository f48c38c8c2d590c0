import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { countActiveKeys } from '../src/auth/keys.ts';
import { resolveBindHost } from './bind.ts';
import { storePath } from '../src/store/index.ts';
import type { Config } from '../src/config/index.ts';
import type { Assistant } from '../src/llm/assistants.ts';
import { createLogger, type Logger } from '../src/log/index.ts';
import { openRetriever } from '../src/retrieval/open.ts';
import { warmUpAnalyzer } from '../src/text/analyzer.ts';
import { RetrievalPool } from '../src/retrieval/pool/pool.ts';
import { prefetchQueryModel } from '../src/retrieval/pool/prefetch.ts';
import { cores, resolveEmbeddingThreads, resolveWorkerConcurrency, resolveWorkerCount, usableMemory, AUTO_MEMORY_SHARE, WORKER_BASE_BYTES } from '../src/retrieval/pool/size.ts';
import type { Retriever } from '../src/retrieval/types.ts';
import { openStore, type DB } from '../src/store/index.ts';
import { activeVersion } from '../src/vector/versions.ts';
import { activeBm25Version } from '../src/bm25/versions.ts';
import { segmentMemoryBytes } from '../src/bm25/segment.ts';
import { createApp, type KbApp } from './app.ts';
import { answerClientErrors } from './client-error.ts';
import type { IndexStatusProvider, StartIngestion } from './deps.ts';

export interface StartServerOptions {
  /**
   * Retrieval backend. Default: the hybrid retriever over the store, the dense index reader and
   * the configured embedder — in `server.retrieval_workers` worker threads, or in this thread
   * when that is 0.
   */
  retriever?: Retriever;
  /** Dense-index status for /readyz and /v1/admin/index. Default: the reader built here (when `retriever` is not given). */
  indexStatus?: IndexStatusProvider;
  /** Starts an ingestion run for POST /v1/admin/ingest (absent: that route answers 501). */
  startIngestion?: StartIngestion;
  /** Store handle. Default: opens <data_dir>/kb.sqlite (and closes it on close()). */
  db?: DB;
  log?: Logger;
  /** Override config.server.port (0 = any free port). */
  port?: number;
  /** Override config.server.host (with auth.mode off only a loopback address is accepted). */
  host?: string;
  assistants?: Map<string, Assistant>;
  /** Extra cleanup after the server stopped and before the store closes. */
  onClose?: () => void | Promise<void>;
  /** Wraps the request handler (a snapshot replica pins each request to one store generation). */
  wrapHandler?: (handler: http.RequestListener) => http.RequestListener;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  /** config.auth.mode === 'required'. */
  authEnabled: boolean;
  kb: KbApp;
  /** Graceful: stop accepting, wait for in-flight requests (bounded by chat.shutdown_timeout_ms), release resources. */
  close(): Promise<void>;
}

/** Starts the HTTP server; this is what `kb serve` runs. */
export async function startServer(config: Config, opts: StartServerOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.log.level, { format: config.log.format });
  const authEnabled = config.auth.mode === 'required';
  // Before anything is opened: an open server must not be reachable from other machines.
  const host = resolveBindHost(config.auth.mode, opts.host ?? config.server.host);
  const ownDb = !opts.db;
  const db = opts.db ?? openStore(storePath(config));
  const cleanups: Array<() => void | Promise<void>> = [];

  let retriever = opts.retriever;
  let indexStatus = opts.indexStatus;
  const copyBytes = indexCopyBytes(config, db);
  const workers = resolveWorkerCount(config.server.retrieval_workers, cores(), { indexBytes: copyBytes, memoryBytes: usableMemory() });
  if (config.server.retrieval_workers === 'auto' && workers < cores() && !db.memory) {
    log.warn(
      { workers, cores: cores(), index_copy_mib: mib(copyBytes), memory_mib: mib(usableMemory()) },
      'server.retrieval_workers auto: fewer workers than cores, because every worker loads its own copy of the indexes and more copies would not fit in memory; set a number to override',
    );
  }
  if (!retriever && workers > 0 && db.memory) log.warn('retrieval workers need a store file; an in-memory store is served in-process');
  if (!retriever && workers > 0 && !db.memory) {
    // Retrieval in worker threads: every core serves queries and this event loop stays free for
    // HTTP, health and metrics. Each worker hot-reloads new index versions by itself.
    await prefetchQueryModel(config, log);
    const pool = await RetrievalPool.start({
      config,
      storeFile: db.name,
      workers,
      concurrency: resolveWorkerConcurrency(config.server.retrieval_worker_concurrency, config.embedding.provider),
      queueDepth: config.server.retrieval_queue_depth,
      queueTimeoutMs: config.server.retrieval_queue_timeout_ms,
      embeddingThreads: resolveEmbeddingThreads(config.server.embedding_threads, workers),
      log,
    });
    // Runs after the HTTP server drained its in-flight requests (close() below).
    cleanups.push(() => pool.close(config.chat.shutdown_timeout_ms));
    retriever = pool;
    indexStatus ??= () => pool.indexStatus();
    const st = pool.indexStatus();
    if (st.version === null) log.warn({ error: st.error }, 'no dense index version is loaded yet: retrieval runs on BM25 only until `kb ingest` builds one');
    warnIndexCopies(copyBytes, workers, log);
  }
  if (!retriever) {
    // The real backend: the reader hot-swaps to a newly activated index version (weekly job)
    // with one reference assignment, so in-flight searches finish on the version they started with.
    const opened = await openRetriever(config, db, log, { warm: true });
    const reader = opened.reader;
    cleanups.push(() => opened.close());
    retriever = opened.retriever;
    indexStatus ??= () => {
      const st = reader.status();
      return { ...st, loaded: st.version !== null };
    };
    const st = reader.status();
    if (st.version === null) log.warn({ error: st.error }, 'no dense index version is loaded yet: retrieval runs on BM25 only until `kb ingest` builds one');
  }

  // Before listening: the first Chinese text analysed on this thread (chat's extractive passages,
  // in-process retrieval) would otherwise block the event loop for ~0.8 s loading jieba.
  warmUpAnalyzer();

  const activeKeys = countActiveKeys(db);
  if (authEnabled && activeKeys === 0) {
    log.warn('auth is on (auth.mode: required) but no active API key exists: every /v1 request is refused (401) until one is created with `kb keys create`');
  } else if (!authEnabled) {
    log.warn(
      { host, active_keys: activeKeys },
      `auth is off (auth.mode: off): every /v1 route is open to local callers on ${host}${activeKeys > 0 ? ` and the ${activeKeys} existing API key(s) are not checked` : ''}. Set auth.mode: required to use API keys and listen on other interfaces.`,
    );
  }

  const kb = createApp({ config, db, retriever, log, assistants: opts.assistants, indexStatus, startIngestion: opts.startIngestion });
  if (retriever instanceof RetrievalPool) {
    const pool = retriever;
    kb.deps.metrics.observeRetrievalPool(() => pool.stats());
  }
  for (const a of kb.deps.assistants.values()) {
    log.info({ assistant: a.id, mode: a.model ? 'generated' : 'extractive', target: a.model?.description ?? null }, a.model ? 'assistant ready' : 'assistant has no generator: chat answers extractively');
  }

  // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; the app refuses it
  // instead, in the OpenAI error shape (serve/app.ts).
  const server = http.createServer({ requireHostHeader: false }, opts.wrapHandler ? opts.wrapHandler(kb.app) : kb.app);
  answerClientErrors(server, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? config.server.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, auth: authEnabled }, 'server listening');

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      const { lifecycle } = kb.deps;
      lifecycle.closing = true;
      log.info({ inflight: lifecycle.inflight }, 'shutting down: no new connections; waiting for in-flight requests');
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idle = await lifecycle.waitIdle(config.chat.shutdown_timeout_ms);
      if (!idle) {
        log.warn({ inflight: lifecycle.inflight }, 'shutdown deadline passed: aborting in-flight requests');
        lifecycle.abortAll('server shutting down');
        await lifecycle.waitIdle(1000);
      }
      server.closeAllConnections();
      await stopped;
      for (const c of cleanups) await c();
      await opts.onClose?.();
      if (ownDb) db.close();
      log.info('server stopped');
    })();
    return closing;
  };

  return { url, host, port, authEnabled, kb, close };
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * Bytes of the active dense (HNSW) and BM25 indexes in memory: what every retrieval worker loads
 * a copy of — the HNSW file as it is, the BM25 version with its postings decoded (≈ 2× its file).
 * 0 for an index not built yet or an HNSW file the reader will report missing.
 */
function indexCopyBytes(config: Config, db: DB): number {
  let bytes = 0;
  const dense = activeVersion(db)?.file;
  if (dense) {
    try {
      bytes += fs.statSync(path.join(config.data_dir, dense)).size;
    } catch {
      // the reader reports a missing file itself
    }
  }
  const bm25 = activeBm25Version(db);
  if (bm25) bytes += segmentMemoryBytes(bm25);
  return bytes;
}

/**
 * Each retrieval worker holds its own copy of the indexes in memory (hnswlib cannot share one
 * across threads): say so when an explicit worker count makes the copies take a large share of
 * this machine's memory (`auto` stays under it).
 */
function warnIndexCopies(indexBytes: number, workers: number, log: Logger): void {
  const total = (indexBytes + WORKER_BASE_BYTES) * workers;
  if (indexBytes > 0 && total > usableMemory() * AUTO_MEMORY_SHARE) {
    log.warn(
      { workers, index_copy_mib: mib(indexBytes), copies_mib: mib(total), memory_mib: mib(usableMemory()) },
      `every retrieval worker loads its own copy of the dense and BM25 indexes: together they need more than ${AUTO_MEMORY_SHARE * 100}% of this machine's memory; lower server.retrieval_workers (or use auto) if memory is short`,
    );
  }
}

import { ANALYZER_VERSION } from '../src/text/analyzer.ts';
import { createHash } from 'node:crypto';
import type { Config, SourceConfig } from '../src/config/index.ts';
import type { DB } from '../src/store/index.ts';
import { nowIso } from '../src/store/index.ts';
import type { Logger } from '../src/log/index.ts';
import { acquireLock } from '../src/lock/index.ts';
import type { Embedder } from '../src/embeddings/types.ts';
import { createEmbedder } from '../src/embeddings/factory.ts';
import { EmbeddingCache, embedWithCache } from '../src/embeddings/cache.ts';
import { syncDenseIndex, pendingCount } from '../src/vector/versions.ts';
import { syncBm25Index } from '../src/bm25/versions.ts';
import { bm25ParamsOf } from '../src/bm25/scoring.ts';
import { estimateTokenCounter, tokenizerCounter } from '../src/text/tokens.ts';
import type { TokenCounter } from '../src/text/tokens-types.ts';
import { noProgress, phasedStage, type Progress } from '../src/progress/index.ts';
import { openSource } from './sources/index.ts';
import { estimateRecords } from './sources/estimate.ts';
import type { SourceRecord } from './sources/types.ts';
import { StoreWriter } from './store-writer.ts';
import { DuplicateFinder, type CandidatePolicy } from './dedupe.ts';
import { prepareDocument } from './prepare.ts';
import { Quarantine } from './quarantine.ts';
import { abortOrphanedRuns, finishRun, startRun } from './runs.ts';
import { emptyReport, type RunReport } from './report.ts';
import { resolveSources } from './resolve-sources.ts';
import { StageClock } from './stage-clock.ts';
import { describeStoreError, faultOf, type StoreFault } from '../src/store/diagnose.ts';
import { storePath } from '../src/store/index.ts';
import { publishAfterIngest } from './publish.ts';

export interface IngestOptions {
  /** Only these sources (default: all configured). */
  sources?: string[];
  /** Reprocess every document even when its content hash is unchanged (after a cleaning or chunking change). */
  full?: boolean;
  /** Allow full-mode sources to delete more than ingest.max_delete_ratio of their documents. */
  allowMassDelete?: boolean;
  trigger?: 'cli' | 'scheduler' | 'api';
  /** Embedder to use (default: from config). null = skip the dense leg. */
  embedder?: Embedder | null;
  progress?: Progress;
  /** Called once the run record exists (before the work), e.g. to answer an API caller with the run id. */
  onStarted?: (runId: number) => void;
}

export interface IngestContext {
  config: Config;
  db: DB;
  log: Logger;
}

/**
 * The weekly job: read → clean → dedupe → chunk → store (SQLite + BM25) → embed → HNSW.
 * Every document is written in a transaction together with its chunks and BM25 terms; the
 * dense index is brought up to date afterwards by writing a new index version (see
 * src/vector/versions.ts), so a crash at any point leaves the previous version serving and the
 * next run finishes the work.
 */
export async function runIngestion(ctx: IngestContext, opts: IngestOptions = {}): Promise<RunReport> {
  const { config, db, log } = ctx;
  const progress = opts.progress ?? noProgress;
  const lock = acquireLock(db, 'ingest', { ttlMs: config.ingest.lock_ttl_seconds * 1000 });
  const heartbeat = setInterval(() => {
    try {
      lock.heartbeat();
    } catch (err) {
      log.error({ err }, 'ingest lock lost');
    }
  }, Math.max(1000, (config.ingest.lock_ttl_seconds * 1000) / 3));
  heartbeat.unref();

  let sources: SourceConfig[];
  let runId: number;
  try {
    const aborted = abortOrphanedRuns(db);
    if (aborted) log.warn({ aborted }, 'marked runs of a process that died as aborted; this run completes their work');
    sources = await resolveSources(config, opts.sources, log, db);
    runId = startRun(db, opts.trigger ?? 'cli', sources.map((s) => s.name));
  } catch (err) {
    clearInterval(heartbeat);
    lock.release();
    throw err;
  }
  opts.onStarted?.(runId);
  const report = emptyReport(runId);
  const clock = new StageClock();
  log.info({ run_id: runId, sources: sources.map((s) => s.name) }, 'ingestion started');

  let embedder: Embedder | null = null;
  try {
    embedder = await loadEmbedder(config, opts, report, log);
    const counter: TokenCounter = embedder?.countTokens
      ? tokenizerCounter(embedder.id, (t) => embedder!.countTokens!(t))
      : estimateTokenCounter;

    // Chunks made with other cleaning/chunking settings (or another tokenizer) are remade.
    const fingerprint = pipelineFingerprint(config, counter);
    const previous = db.prepare("SELECT value FROM settings WHERE key = 'pipeline_fingerprint'").pluck().get() as string | undefined;
    const full = opts.full || (previous !== undefined && previous !== fingerprint);
    if (full && !opts.full) report.warnings.push('cleaning/chunking settings or tokenizer changed since the last run: every document is reprocessed');

    for (const source of sources) {
      await ingestSource(ctx, source, runId, report, clock, counter, { ...opts, full }, progress);
    }
    if (!Object.values(report.sources).some((s) => s.error)) {
      db.prepare("INSERT INTO settings (key, value) VALUES ('pipeline_fingerprint', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(fingerprint);
    }

    // BM25 first: it needs no model, and new documents become keyword-searchable while the
    // (much longer) embedding runs.
    const bm25Failed = updateBm25Index(ctx, report, clock);
    report.embedding.pending = pendingCount(db);
    if (embedder) await updateDenseIndex(ctx, embedder, report, clock, progress);
    report.embedding.pending = pendingCount(db);
    report.status = Object.values(report.sources).some((s) => s.error) || bm25Failed ? 'failed' : 'succeeded';
    if (bm25Failed) report.error = `BM25 index version not built (searches use the previous version or FTS5): ${bm25Failed}`;
    // Name each failed source and why (the path that does not exist, the permission) in the report itself.
    else if (report.status === 'failed') report.error = failedSourcesMessage(report);
  } catch (err) {
    report.status = 'failed';
    if (err instanceof StoreWriteError) {
      report.rolled_back = { records: err.rolledBack, fault: err.fault };
      report.error = `${err.message} The transaction in progress was rolled back (${err.rolledBack} record(s) not written); the counts in this report are what was committed before it. Rerun \`kb ingest\` once fixed: it continues from the committed state.`;
    } else if (faultOf(err) !== 'other') {
      report.error = describeStoreError(err, storePath(config), 'write').message;
    } else {
      report.error = (err as Error).message;
    }
    log.error({ err, run_id: runId }, 'ingestion failed');
  } finally {
    // An embedder this run created holds an ONNX session: free it (the scheduler runs for months).
    if (embedder && opts.embedder === undefined) await embedder.dispose?.().catch(() => {});
    report.seconds = clock.seconds();
    clearInterval(heartbeat);
    // On a full disk these writes can fail too: the report is still returned (and printed); a
    // lock left behind belongs to this pid, so the next run takes it over once we exit.
    let recorded = false;
    try {
      finishRun(db, runId, report);
      recorded = true;
    } catch (err) {
      log.error({ err: describeStoreError(err, storePath(config), 'write').message, run_id: runId }, 'could not record the run report in the store');
    }
    // Published after the run is recorded (replicas see it finished) and before the lock is released.
    if (recorded && config.snapshot.target) {
      await publishAfterIngest(ctx, report);
      if (report.snapshot) finishRun(db, runId, report);
    }
    try {
      lock.release();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not release the ingest lock (the next run takes it over)');
    }
  }
  log.info({ run_id: runId, status: report.status, docs: report.docs, seconds: report.seconds.total }, 'ingestion finished');
  return report;
}

function pipelineFingerprint(config: Config, counter: TokenCounter): string {
  // The analyzer version: a change in BM25 analysis must re-analyse every document.
  return createHash('sha256').update(JSON.stringify([config.cleaning, config.chunking, counter.kind, ANALYZER_VERSION])).digest('hex').slice(0, 16);
}

async function loadEmbedder(config: Config, opts: IngestOptions, report: RunReport, log: Logger): Promise<Embedder | null> {
  if (opts.embedder === null) {
    report.embedding.unavailable = 'dense indexing disabled for this run';
    return null;
  }
  const embedder = opts.embedder ?? createEmbedder(config);
  try {
    await embedder.load();
    report.embedding.model = embedder.id;
    return embedder;
  } catch (err) {
    report.embedding.unavailable = (err as Error).message;
    report.warnings.push(`embedding model unavailable: BM25 only this run; chunks stay pending for the dense index`);
    log.warn({ err: (err as Error).message }, 'embedding model unavailable — continuing with BM25 only');
    return null;
  }
}

async function ingestSource(
  ctx: IngestContext,
  source: SourceConfig,
  runId: number,
  report: RunReport,
  clock: StageClock,
  counter: TokenCounter,
  opts: IngestOptions,
  progress: Progress,
): Promise<void> {
  const { config, db, log } = ctx;
  const writer = new StoreWriter(db);
  const dupes = new DuplicateFinder(db, config.dedupe);
  const quarantine = new Quarantine(db, source.name, runId);
  const stats = { seen: 0, quarantined: 0, deleted: 0 } as RunReport['sources'][string];
  report.sources[source.name] = stats;
  db.prepare(
    `INSERT INTO sources (name, type, path, mode) VALUES (?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET type = excluded.type, path = excluded.path, mode = excluded.mode,
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(source.name, source.type, source.path, source.mode);

  const bar = progress.stage(`read ${source.name}`, progress.interactive ? (estimateRecords(source, config.data_dir) ?? undefined) : undefined);
  const batch: Item[] = [];
  const deferred: Item[] = [];
  // A full snapshot's documents this run has not reached yet may turn out to be deleted: a record
  // duplicating one of them waits until the whole source has been read (see dedupe.ts).
  const readingPolicy: CandidatePolicy =
    source.mode === 'full' ? (c) => (c.source === source.name && c.last_run_id !== runId ? 'pending' : 'counts') : () => 'counts';
  const deps = { source: source.name, writer, dupes, quarantine, runId, report, stats, clock, counter, full: !!opts.full };
  const flush = () => {
    if (batch.length === 0) return;
    processBatch(ctx, batch.splice(0), { ...deps, policy: readingPolicy, deferred });
  };

  // A record whose ACL can no longer be read must not stay published under the groups an earlier
  // version had (possibly wider, possibly public): its stored version is withdrawn at once, in
  // append mode too and regardless of ingest.max_delete_ratio. A fixed record comes back as new.
  const withdraw = (externalId: string) => {
    const live = writer.find(source.name, externalId);
    if (!live || live.deleted_at) return;
    flush(); // keep order: an earlier record with the same id in the pending batch is written first
    const stored = writer.find(source.name, externalId);
    if (!stored || stored.deleted_at) return;
    db.transaction(() => {
      report.chunks.removed += writer.delete(stored.id, nowIso());
    })();
    stats.deleted++;
    report.docs.deleted++;
    const msg = `${source.name}/${externalId}: ACL field is invalid (quarantined as invalid_acl); the stored version was withdrawn`;
    report.warnings.push(msg);
    log.warn(msg);
  };

  let readFailed = false;
  try {
    const reader = openSource(source, config.data_dir, config.files);
    clock.start('read');
    for await (const item of reader.read()) {
      clock.stop('read');
      stats.seen++;
      report.docs.seen++;
      bar.tick();
      if (!item.ok) {
        try {
          quarantine.add(item.locator, item.raw, item.reason, item.detail);
        } catch (err) {
          throw new StoreWriteError(err, ctx, 1);
        }
        stats.quarantined++;
        report.docs.quarantined++;
        if (item.reason === 'invalid_acl' && item.externalId !== undefined) withdraw(item.externalId);
      } else {
        batch.push({ record: item.record, raw: item.raw, locator: item.locator });
        if (batch.length >= config.ingest.batch_size) flush();
      }
      clock.start('read');
    }
    clock.stop('read');
    flush();
  } catch (err) {
    clock.stop('read');
    // A failed store write is not a source problem: stop the run and say what happened.
    if (err instanceof StoreWriteError) {
      bar.done();
      throw err;
    }
    flush();
    readFailed = true;
    stats.error = (err as Error).message;
    log.error({ source: source.name, err: (err as Error).message }, 'source could not be read; its deletions are skipped');
  }
  bar.done();

  // A full snapshot that was read completely: documents it no longer contains are deleted —
  // unless that would remove a suspicious share of the source (a truncated export).
  let deleting = source.mode === 'full' && !readFailed;
  if (deleting) {
    const unseen = writer.unseen(source.name, runId).length;
    const live = db.prepare('SELECT count(*) FROM documents WHERE source = ? AND deleted_at IS NULL').pluck().get(source.name) as number;
    const ratio = live > 0 ? unseen / live : 0;
    if (unseen > 0 && ratio > config.ingest.max_delete_ratio && !opts.allowMassDelete) {
      const msg = `source ${source.name}: refusing to delete ${unseen} of ${live} documents (${(ratio * 100).toFixed(0)}% > ingest.max_delete_ratio); rerun with --allow-mass-delete if the source really shrank`;
      report.warnings.push(msg);
      log.warn(msg);
      deleting = false;
    }
  }

  // Deferred records: their originals are now known to stay (then they are duplicates) or to go
  // (then they are not). A deferred record's own earlier version is not "going": it is re-read.
  if (deferred.length > 0) {
    const rereads = new Set(deferred.map((d) => d.record.externalId));
    const leaving = new Set(deleting ? writer.unseenRows(source.name, runId).filter((r) => !rereads.has(r.external_id)).map((r) => r.id) : []);
    processBatch(ctx, deferred, { ...deps, policy: (c) => (leaving.has(c.id) ? 'ignore' : 'counts'), deferred: [] });
  }

  const gone = deleting ? writer.unseen(source.name, runId) : [];
  if (gone.length > 0) {
    clock.start('delete');
    const now = nowIso();
    const del = db.transaction((ids: number[]) => {
      let removed = 0;
      for (const id of ids) removed += writer.delete(id, now);
      return removed;
    });
    for (let i = 0; i < gone.length; i += 500) {
      const part = gone.slice(i, i + 500);
      let removed: number;
      try {
        removed = del(part);
      } catch (err) {
        throw new StoreWriteError(err, ctx, part.length);
      }
      // Counted per committed transaction: a failure leaves earlier deletions counted, not this one.
      report.chunks.removed += removed;
      stats.deleted += part.length;
      report.docs.deleted += part.length;
    }
    clock.stop('delete');
  }
}

type Item = { record: SourceRecord; raw: string; locator: string };

interface BatchDeps {
  source: string;
  /** Which stored documents count as originals for the duplicate check. */
  policy: CandidatePolicy;
  /** Records whose duplicate check must wait until the source has been read. */
  deferred: Item[];
  writer: StoreWriter;
  dupes: DuplicateFinder;
  quarantine: Quarantine;
  runId: number;
  report: RunReport;
  stats: RunReport['sources'][string];
  clock: StageClock;
  counter: TokenCounter;
  full: boolean;
}

/**
 * Cleans, deduplicates, chunks and stores one batch of records in one transaction. Its counts
 * reach the report only once the transaction committed: a batch that rolls back (disk full, a
 * damaged store) is reported as rolled back, never as documents written.
 */
function processBatch(ctx: IngestContext, items: Item[], d: BatchDeps): void {
  const { config, db } = ctx;
  const now = nowIso();
  const t = { new: 0, changed: 0, unchanged: 0, duplicates: 0, quarantined: 0, added: 0, removed: 0, warnings: [] as string[], deferred: [] as Item[] };
  const reject = (locator: string, raw: string, reason: string, detail: string) => {
    d.quarantine.add(locator, raw, reason, detail);
    t.quarantined++;
  };
  try {
    db.transaction(() => {
      for (const { record, raw, locator } of items) {
        d.clock.start('clean');
        const prepared = prepareDocument(record, d.source, config);
        d.clock.stop('clean');
        if (!prepared.ok) {
          reject(locator, raw, prepared.reason, prepared.detail);
          continue;
        }
        const doc = prepared.doc;
        if (doc.truncated) t.warnings.push(`${d.source}/${record.externalId}: body truncated to cleaning.max_chars`);
        const existing = d.writer.find(d.source, record.externalId);
        const live = existing && !existing.deleted_at ? existing : undefined;
        if (live && live.content_hash === doc.input.contentHash && !d.full) {
          d.writer.touch(live.id, d.runId, now);
          t.unchanged++;
          continue;
        }
        d.clock.start('dedupe');
        const dup = d.dupes.check(doc.input.textHash, doc.input.body, existing?.id, d.policy);
        d.clock.stop('dedupe');
        if (!dup.duplicate && dup.deferred) {
          t.deferred.push({ record, raw, locator });
          continue;
        }
        if (dup.duplicate) {
          reject(locator, raw, dup.duplicate.reason, dup.duplicate.detail);
          t.duplicates++;
          continue;
        }
        d.clock.start('chunk');
        const chunks = doc.chunk(d.counter);
        d.clock.stop('chunk');
        d.clock.start('store');
        const r = d.writer.upsert({ ...doc.input, minhash: dup.signature, lshBuckets: dup.buckets }, chunks, d.runId, now, existing);
        d.clock.stop('store');
        t.added += r.added;
        t.removed += r.removed;
        if (live) t.changed++;
        else t.new++;
      }
    })();
  } catch (err) {
    for (const stage of ['clean', 'dedupe', 'chunk', 'store']) d.clock.stop(stage);
    throw new StoreWriteError(err, ctx, items.length);
  }
  const docs = d.report.docs;
  docs.new += t.new;
  docs.changed += t.changed;
  docs.unchanged += t.unchanged;
  docs.duplicates += t.duplicates;
  docs.quarantined += t.quarantined;
  d.stats.quarantined += t.quarantined;
  d.report.chunks.added += t.added;
  d.report.chunks.removed += t.removed;
  d.report.warnings.push(...t.warnings);
  d.deferred.push(...t.deferred);
}

/**
 * A write to the store failed and its transaction rolled back. Not a source problem: the run
 * stops (carrying on would only fail again) and the report says what was rolled back and why.
 */
export class StoreWriteError extends Error {
  readonly fault: StoreFault;
  constructor(
    cause: unknown,
    ctx: IngestContext,
    /** Records of the batch whose transaction rolled back. */
    readonly rolledBack: number,
  ) {
    const described = describeStoreError(cause, storePath(ctx.config), 'write');
    super(described.message, { cause });
    this.name = 'StoreWriteError';
    this.fault = described.fault;
  }
}

/** Builds and activates a BM25 index version when the run changed chunks (or k1/b changed). Returns the error message on failure. */
function updateBm25Index(ctx: IngestContext, report: RunReport, clock: StageClock): string | null {
  const { config, db, log } = ctx;
  clock.start('bm25');
  try {
    const r = syncBm25Index(db, config.data_dir, { log, keep: config.index.keep_versions, params: bm25ParamsOf(config.retrieval.bm25) });
    report.bm25 = { version: r.version_id, docs: r.docs, built: r.built, seconds: Math.round(r.seconds * 1000) / 1000 };
    return null;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'BM25 index build failed');
    return (err as Error).message;
  } finally {
    clock.stop('bm25');
  }
}

async function updateDenseIndex(ctx: IngestContext, embedder: Embedder, report: RunReport, clock: StageClock, progress: Progress) {
  const { config, db } = ctx;
  const cache = new EmbeddingCache(db);
  const bar = progress.stage('embed', report.embedding.pending);
  const indexBar = phasedStage(progress, 'index');
  clock.start('index');
  const result = await syncDenseIndex({
    db,
    // Adding vectors runs inside the embed stage's batches (its bar covers it); removing stale
    // labels and writing the file are stages of their own.
    onProgress: (p) => {
      if (p.phase !== 'add') indexBar.update(p.phase, p.done, p.total);
    },
    dataDir: config.data_dir,
    modelId: embedder.id,
    dim: embedder.dimension,
    params: config.index,
    getVectors: async (chunks) => {
      clock.stop('index');
      clock.start('embed');
      const { vectors, stats } = await embedWithCache(
        embedder,
        cache,
        chunks.map((c) => ({ hash: c.embed_hash, text: c.embed_text })),
        { batchSize: config.embedding.batch_size, onProgress: (n: number) => bar.tick(n) },
      );
      report.embedding.cache_hits += stats.hits;
      report.embedding.embedded += stats.misses;
      clock.stop('embed');
      clock.start('index');
      return vectors;
    },
  });
  clock.stop('index');
  bar.done();
  indexBar.done();
  report.index = {
    version: result.version_id,
    vectors: result.vectors,
    added: result.added,
    removed: result.removed,
    rebuilt: result.rebuilt,
  };
}

function failedSourcesMessage(report: RunReport): string {
  const failed = Object.entries(report.sources).filter(([, s]) => s.error);
  const why = failed.map(([name, s]) => (s.error!.includes(`"${name}"`) ? s.error! : `source "${name}": ${s.error}`));
  return `${failed.length} source(s) could not be read: ${why.join('; ')}`;
}

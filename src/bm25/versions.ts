import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { Bm25Builder, fsyncDirectory, writeFileAtomic, type BuildRow } from './builder.ts';
import { BLOCK_SIZE } from './format.ts';
import { FTS5_BM25, describeBm25Params, sameBm25Params, type Bm25Params } from './scoring.ts';
import { removeStaleTempFiles } from '../util/process.ts';

// BM25 index versions: the same discipline as the HNSW versions (src/vector/versions.ts).
// A build reads the live chunks and their analysed terms in one SQLite read transaction (a
// consistent snapshot), writes a NEW immutable file (temp → fsync → rename → fsync dir), records
// its SHA-256 and activates it in one SQLite transaction. A crash before that commit leaves the
// previous version active and untouched; the temp file of a dead writer is removed by the next
// build. Readers verify the checksum before using a file and fall back to FTS5 when it fails.
//
// Activation is its own transaction, not the HNSW one: the BM25 build needs no embedder (a run
// whose model is unavailable must still publish its text changes), it runs before the hours of
// embedding so new documents become searchable by keyword first, and neither leg's invariant
// depends on the other's (BM25 liveness comes from bm25_removed, dense from vector_label).

export interface Bm25Version {
  id: number;
  file: string;
  sha256: string;
  bytes: number;
  docs: number;
  terms: number;
  postings: number;
  max_chunk_id: number;
  removed_seq: number;
  params: string;
  seconds: number | null;
  active: number;
  created_at: string;
}

export interface Bm25BuildReport {
  version_id: number | null;
  file: string | null;
  docs: number;
  terms: number;
  postings: number;
  bytes: number;
  /** False when the active version was already up to date (nothing built). */
  built: boolean;
  reason: 'no_active_version' | 'changed' | 'params_changed' | 'active_file_unreadable' | 'forced' | null;
  seconds: number;
  pruned: string[];
}

export class Bm25SyncConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Bm25SyncConflictError';
  }
}

export const BM25_DIR = 'bm25';

export function activeBm25Version(db: DB): Bm25Version | null {
  return (db.prepare('SELECT * FROM bm25_versions WHERE active = 1').get() as Bm25Version | undefined) ?? null;
}

export function listBm25Versions(db: DB): Bm25Version[] {
  return db.prepare('SELECT * FROM bm25_versions ORDER BY id').all() as Bm25Version[];
}

/**
 * The k1/b a version was built with (the `params` column). Rows written before the parameters
 * were settable, or unreadable ones, count as FTS5's: the only values the builder ever used then.
 */
export function versionParams(v: Pick<Bm25Version, 'params'>): Bm25Params {
  try {
    const p = JSON.parse(v.params) as { k1?: unknown; b?: unknown };
    if (typeof p.k1 === 'number' && typeof p.b === 'number') return { k1: p.k1, b: p.b };
  } catch {
    // fall through
  }
  return FTS5_BM25;
}

/** Null when the version was built with `want`, else a sentence saying how they differ. */
export function paramsMismatch(v: Pick<Bm25Version, 'id' | 'params'>, want: Bm25Params): string | null {
  const have = versionParams(v);
  if (sameBm25Params(have, want)) return null;
  return `BM25 version ${v.id} was built with ${describeBm25Params(have)}; the configuration says ${describeBm25Params(want)}`;
}

/**
 * For health reports (/readyz): null when searches score with `want`; otherwise why not — the
 * active version was built with other k1/b, or there is none and FTS5 (fixed 1.2 / 0.75) answers.
 */
export function activeParamsIssue(db: DB, want: Bm25Params): string | null {
  const v = activeBm25Version(db);
  if (v) {
    const m = paramsMismatch(v, want);
    return m ? `bm25 params differ, rebuild: ${m}; it is served as built until \`kb bm25 build\` or the next ingestion run` : null;
  }
  return sameBm25Params(FTS5_BM25, want) ? null : `bm25 params not applied: no BM25 engine version yet, so FTS5 answers with ${describeBm25Params(FTS5_BM25)} (the configuration says ${describeBm25Params(want)}); run \`kb bm25 build\``;
}

/** What the active version lacks: live chunks added after it and chunks removed since. */
export function bm25Pending(db: DB): { added: number; removed: number } {
  const v = activeBm25Version(db);
  const added = db
    .prepare('SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id > ? AND c.retired_at IS NULL AND d.deleted_at IS NULL')
    .pluck()
    .get(v?.max_chunk_id ?? 0) as number;
  const removed = db.prepare('SELECT count(*) FROM bm25_removed WHERE seq > ?').pluck().get(v?.removed_seq ?? 0) as number;
  return { added, removed };
}

/** SHA-256 of a file, read in 4 MiB pieces (hex). */
export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export interface BuildOptions {
  log?: Logger;
  /** Files kept (the newest ones); the active version's file is always kept. Default 2. */
  keep?: number;
  /** Build even when the active version is up to date. */
  force?: boolean;
  /** k1/b to build with (`retrieval.bm25`, see bm25ParamsOf). Default FTS5's 1.2 / 0.75. */
  params?: Bm25Params;
  /** Test hook: called after every 1000 chunks read (a crash test kills the process here). */
  onProgress?: (chunks: number) => void;
}

/**
 * Brings the BM25 index up to date: builds and activates a new version when chunks were added
 * or removed since the active one (or there is none, its file is unreadable, or it was built
 * with other k1/b than `opts.params`: its norms and block maxima depend on them). Callers
 * serialise builds (the ingestion lock); a concurrent activation is detected and refused.
 */
export function syncBm25Index(db: DB, dataDir: string, opts: BuildOptions = {}): Bm25BuildReport {
  const started = performance.now();
  const log = opts.log ?? silentLogger;
  const dir = path.join(dataDir, BM25_DIR);
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTempFiles(dir, log, 'BM25 index');
  const active = activeBm25Version(db);
  const params = opts.params ?? FTS5_BM25;
  let reason: Bm25BuildReport['reason'] = opts.force ? 'forced' : null;
  if (!reason) {
    if (!active) reason = 'no_active_version';
    else if (!fileMatches(dataDir, active)) reason = 'active_file_unreadable';
    else if (paramsMismatch(active, params)) reason = 'params_changed';
    else {
      const pending = bm25Pending(db);
      if (pending.added > 0 || pending.removed > 0) reason = 'changed';
    }
  }
  if (!reason) {
    const v = active!;
    return { version_id: v.id, file: v.file, docs: v.docs, terms: v.terms, postings: v.postings, bytes: v.bytes, built: false, reason: null, seconds: (performance.now() - started) / 1000, pruned: [] };
  }

  const versionId = ((db.prepare('SELECT coalesce(max(id), 0) FROM bm25_versions').pluck().get() as number) ?? 0) + 1;
  const rel = path.posix.join(BM25_DIR, `v${versionId}.bm25`);
  const abs = path.join(dataDir, rel);
  const builder = new Bm25Builder(params);
  let snapshot = { maxChunk: 0, removedSeq: 0 };
  // One read transaction: the chunk set, their terms and the removal log agree.
  db.transaction(() => {
    snapshot = {
      maxChunk: db.prepare('SELECT coalesce(max(id), 0) FROM chunks').pluck().get() as number,
      removedSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM bm25_removed').pluck().get() as number,
    };
    const rows = db
      .prepare(
        `SELECT c.id, f.terms, d.id, d.kind, d.published_at, d.source, d.tags, d.acl_groups
           FROM chunks_fts f
           JOIN chunks c ON c.id = f.rowid
           JOIN documents d ON d.id = c.document_id
          WHERE c.retired_at IS NULL AND d.deleted_at IS NULL
          ORDER BY f.rowid`,
      )
      .raw(true);
    const row: BuildRow = { chunkId: 0, terms: '', docId: 0, kind: '', publishedAt: null, source: '', tags: '[]', aclGroups: '[]' };
    let n = 0;
    for (const r of rows.iterate() as Iterable<[number, string, number, string, string | null, string, string, string]>) {
      row.chunkId = r[0];
      row.terms = r[1];
      row.docId = r[2];
      row.kind = r[3];
      row.publishedAt = r[4];
      row.source = r[5];
      row.tags = r[6];
      row.aclGroups = r[7];
      builder.add(row);
      if (++n % 1000 === 0) opts.onProgress?.(n);
    }
  })();

  let stats = { docs: 0, terms: 0, postings: 0, bytes: 0 };
  writeFileAtomic(abs, (fd) => {
    stats = builder.writeTo(fd, { version: versionId, max_chunk_id: snapshot.maxChunk, removed_seq: snapshot.removedSeq });
  });
  const sha256 = sha256File(abs);
  const seconds = (performance.now() - started) / 1000;
  try {
    db.transaction(() => {
      const now = activeBm25Version(db);
      if ((now?.id ?? null) !== (active?.id ?? null)) {
        throw new Bm25SyncConflictError(`the active BM25 version changed during the build (${active?.id ?? 'none'} → ${now?.id ?? 'none'})`);
      }
      db.prepare(
        `INSERT INTO bm25_versions (id, file, sha256, bytes, docs, terms, postings, max_chunk_id, removed_seq, params, seconds, active)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
      ).run(versionId, rel, sha256, stats.bytes, stats.docs, stats.terms, stats.postings, snapshot.maxChunk, snapshot.removedSeq, JSON.stringify({ k1: params.k1, b: params.b, block_size: BLOCK_SIZE }), seconds);
      db.prepare('UPDATE bm25_versions SET active = 0 WHERE active = 1').run();
      db.prepare('UPDATE bm25_versions SET active = 1 WHERE id = ?').run(versionId);
      // A reader still on the previous version needs the removals after its own snapshot; older
      // entries are needed by nobody.
      if (active) db.prepare('DELETE FROM bm25_removed WHERE seq <= ?').run(active.removed_seq);
    })();
  } catch (err) {
    fs.rmSync(abs, { force: true });
    throw err;
  }
  const pruned = pruneBm25Versions(db, dataDir, opts.keep ?? 2, log);
  log.info({ version: versionId, docs: stats.docs, terms: stats.terms, bytes: stats.bytes, seconds, reason }, 'BM25 index version activated');
  return { version_id: versionId, file: rel, ...stats, built: true, reason, seconds, pruned };
}

/** The active file exists with the recorded size (the full checksum is the reader's job). */
function fileMatches(dataDir: string, v: Bm25Version): boolean {
  try {
    return fs.statSync(path.join(dataDir, v.file)).size === v.bytes;
  } catch {
    return false;
  }
}

/** Deletes old versions' files and rows: the newest `keep` stay, and the active one always. */
export function pruneBm25Versions(db: DB, dataDir: string, keep: number, log: Logger = silentLogger): string[] {
  const versions = listBm25Versions(db).sort((a, b) => b.id - a.id);
  const removed: string[] = [];
  versions.forEach((v, i) => {
    if (v.active === 1 || i < keep) return;
    db.prepare('DELETE FROM bm25_versions WHERE id = ? AND active = 0').run(v.id);
    try {
      fs.rmSync(path.join(dataDir, v.file), { force: true });
      removed.push(v.file);
    } catch (err) {
      log.warn({ file: v.file, err: (err as Error).message }, 'could not delete an old BM25 index file');
    }
  });
  if (removed.length) fsyncDirectory(path.join(dataDir, BM25_DIR));
  return removed;
}


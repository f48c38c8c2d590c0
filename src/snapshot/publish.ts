import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DB } from '../store/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import type { SnapshotBackend } from './backend.ts';
import { filesToShip, referencedFiles } from './collect.ts';
import { SNAPSHOT_FORMAT, STORE_FILE, SnapshotError, hashFile, newSnapshotId, type SnapshotManifest } from './manifest.ts';

export interface PublishOptions {
  /** The live store (the backup is taken online through this connection). */
  db: DB;
  dataDir: string;
  backend: SnapshotBackend;
  log?: Logger;
  /** Run garbage collection afterwards, keeping this many snapshots (undefined: no GC). */
  keep?: number;
  tmpMaxAgeMs?: number;
}

export interface PublishResult {
  manifest: SnapshotManifest;
  seconds: { backup: number; hash: number; upload: number; total: number };
  removed: string[];
}

// Tables whose rows describe this process's live state, not the corpus: cleared in the copy so a
// replica never believes the publisher's ingestion lock is held.
const PROCESS_LOCAL_TABLES = ['locks'];

/**
 * Publishes the store and every index file its active versions reference as one immutable,
 * checksummed snapshot. Hold the ingestion lock while calling (the pipeline does): the backup is
 * a consistent point in time, and the lock keeps a concurrent sync from pruning a file it names.
 */
export async function publishSnapshot(opts: PublishOptions): Promise<PublishResult> {
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const id = newSnapshotId();
  const staging = path.join(opts.dataDir, '.snapshot-staging', `${id}-${process.pid}`);
  fs.mkdirSync(staging, { recursive: true });
  try {
    // 1. Online backup: readers and writers of the live store keep going while pages are copied.
    const storeCopy = path.join(staging, STORE_FILE);
    await opts.db.backup(storeCopy);
    const refs = sanitizeCopy(storeCopy);
    const tBackup = performance.now();

    // 2. The index files the copy references: immutable per version (a sync writes a new file),
    // so they are hashed and uploaded straight from the data folder, with no staging copy.
    const rels = filesToShip(opts.dataDir, refs);
    const sourceOf = (rel: string) => (rel === STORE_FILE ? storeCopy : path.join(opts.dataDir, ...rel.split('/')));
    const files: SnapshotManifest['files'] = [];
    const recorded = new Map(refs.filter((r) => r.sha256).map((r) => [r.file, r.sha256]));
    for (const rel of [STORE_FILE, ...rels]) {
      const { sha256, bytes } = await hashFile(sourceOf(rel));
      // An index file whose bytes differ from the checksum its versions table recorded is corrupt:
      // publishing it would hand every replica a broken index.
      const expected = recorded.get(rel);
      if (expected && expected !== sha256) throw new SnapshotError(`index file ${rel} does not match the checksum its versions table recorded (sha256 ${sha256.slice(0, 12)}…, expected ${expected.slice(0, 12)}…): not publishing`);
      files.push({ path: rel, bytes, sha256 });
    }
    const tHash = performance.now();
    const manifest: SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      id,
      created_at: new Date().toISOString(),
      store: STORE_FILE,
      versions: refs.map((r) => ({ table: r.table, id: r.id, file: r.file })),
      files,
      bytes: files.reduce((s, f) => s + f.bytes, 0),
    };

    // 3. Upload: files, manifest, then the LATEST pointer.
    await opts.backend.publish(manifest, sourceOf);
    const tUpload = performance.now();
    let removed: string[] = [];
    if (opts.keep !== undefined) removed = await gcSnapshots(opts.backend, opts.keep, { tmpMaxAgeMs: opts.tmpMaxAgeMs, log });
    const s = (a: number, b: number) => Math.round(b - a) / 1000;
    const result = { manifest, removed, seconds: { backup: s(t0, tBackup), hash: s(tBackup, tHash), upload: s(tHash, tUpload), total: s(t0, performance.now()) } };
    log.info({ snapshot: id, bytes: manifest.bytes, files: files.length, versions: manifest.versions, location: opts.backend.location, seconds: result.seconds, removed }, 'snapshot published');
    return result;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Clears process-local rows, makes the copy a self-contained single file, returns its references. */
function sanitizeCopy(file: string) {
  const copy = new Database(file);
  try {
    for (const t of PROCESS_LOCAL_TABLES) {
      if (copy.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t)) copy.prepare(`DELETE FROM "${t}"`).run();
    }
    copy.pragma('journal_mode = DELETE'); // no -wal/-shm beside it; the replica turns WAL back on
    return referencedFiles(copy);
  } finally {
    copy.close();
  }
}

/**
 * Retention: keeps the newest `keep` snapshots and always the one LATEST names (a rollback target
 * stays), deletes the rest oldest first, and removes uploads abandoned by dead publishers.
 */
export async function gcSnapshots(backend: SnapshotBackend, keep: number, opts: { tmpMaxAgeMs?: number; log?: Logger } = {}): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a positive integer, got ${keep}`);
  const log = opts.log ?? silentLogger;
  const all = await backend.list();
  const latest = await backend.latestId();
  const kept = new Set(all.slice(-keep).map((m) => m.id));
  if (latest) kept.add(latest);
  const removed: string[] = [];
  for (const m of all) {
    if (kept.has(m.id)) continue;
    await backend.remove(m.id);
    removed.push(m.id);
  }
  const stale = await backend.removeStaleUploads(opts.tmpMaxAgeMs ?? 60 * 60_000);
  if (removed.length || stale.length) log.info({ removed, stale_uploads: stale, location: backend.location }, 'old snapshots removed');
  return removed;
}


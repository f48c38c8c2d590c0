import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { HnswIndex, fsyncDir } from './hnsw.ts';
import { backfillChecksum, loadVersion, verifyVersion } from './verify.ts';
import { IndexIntegrityError, type ScanResult } from './integrity.ts';
import { removeStaleTempFiles } from '../util/process.ts';

// Dense index versions. Invariant (crash safety): the live labels of the active version's file
// are exactly { chunks.id : vector_label IS NOT NULL }. A sync builds a NEW file, then flips the
// active row and the chunk labels in one SQLite transaction; a crash before that commit leaves
// the previous version and SQLite untouched, and the next sync redoes the work.

export interface IndexVersion {
  id: number;
  model_id: string;
  dim: number;
  /** Path relative to data_dir. */
  file: string;
  vectors: number;
  params: { m: number; ef_construction: number; max_elements: number };
  active: boolean;
  created_at: string;
  /** SHA-256 and size of the file as written (null for versions written before migration 006). */
  sha256: string | null;
  bytes: number | null;
}

export interface DenseIndexParams {
  m: number;
  ef_construction: number;
  ef_search: number;
  /** Files kept per model (the newest ones); the active version's file is always kept. */
  keep_versions: number;
}

export interface ChunkToEmbed {
  id: number;
  embed_hash: string;
  embed_text: string;
}

/** Returns a vector for every distinct embed_hash of `chunks` (typically via the embedding cache). */
export type GetVectors = (chunks: ChunkToEmbed[]) => Promise<Map<string, Float32Array>>;

export interface SyncProgress {
  phase: 'remove' | 'add' | 'write';
  done: number;
  total: number;
}

export type RebuildReason = 'no_active_version' | 'model_changed' | 'params_changed' | 'active_file_unreadable' | 'active_file_corrupt' | 'inconsistent' | 'forced';

export interface SyncOptions {
  db: DB;
  dataDir: string;
  modelId: string;
  dim: number;
  params: DenseIndexParams;
  getVectors: GetVectors;
  onProgress?: (p: SyncProgress) => void;
  /** Rebuild from all live chunks even if the active version could be updated in place. */
  rebuild?: boolean;
  /** Chunks per getVectors call (bounds memory). Default 1000. */
  batchSize?: number;
  /** Seed of the HNSW level generator for a rebuilt index. */
  seed?: number;
  log?: Logger;
}

export interface SyncReport {
  /** The active version after the sync (null only when there is nothing to index and never was). */
  version_id: number | null;
  /** Its file, relative to data_dir. */
  file: string | null;
  added: number;
  removed: number;
  /** Live vectors in the active version. */
  vectors: number;
  rebuilt: boolean;
  rebuild_reason: RebuildReason | null;
  /** Files of old versions deleted (relative to data_dir). */
  pruned: string[];
  seconds: number;
}

/** Thrown when the chunks changed under a running sync in a way it cannot absorb; rerun it. */
export class SyncConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncConflictError';
  }
}

interface VersionRow {
  id: number;
  model_id: string;
  dim: number;
  file: string;
  vectors: number;
  params: string;
  active: number;
  created_at: string;
  sha256: string | null;
  bytes: number | null;
}

const toVersion = (r: VersionRow): IndexVersion => ({ ...r, params: JSON.parse(r.params), active: r.active === 1 });

export function activeVersion(db: DB): IndexVersion | null {
  const row = db.prepare('SELECT * FROM index_versions WHERE active = 1').get() as VersionRow | undefined;
  return row ? toVersion(row) : null;
}

export function listVersions(db: DB): IndexVersion[] {
  return (db.prepare('SELECT * FROM index_versions ORDER BY id').all() as VersionRow[]).map(toVersion);
}

/** Live chunks not yet in the active dense index. */
export function pendingCount(db: DB): number {
  return db.prepare('SELECT count(*) FROM chunks WHERE vector_label IS NULL AND retired_at IS NULL').pluck().get() as number;
}

/** What the next incremental sync would do: vectors to add and to remove. */
export function pendingChanges(db: DB): { add: number; remove: number } {
  const remove = db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NOT NULL AND vector_label IS NOT NULL').pluck().get() as number;
  return { add: pendingCount(db), remove };
}

/** File-name-safe form of a model id, e.g. "local:Xenova/e5-small@q8" → "local-xenova-e5-small-q8". */
export function modelSlug(modelId: string): string {
  const s = modelId
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
  return s || 'model';
}

const DEFAULT_BATCH = 1000;
const SAMPLE_CHECK = 256;
const YIELD_EVERY = 64;

/**
 * Brings the dense index up to date with the chunks table and activates the result as a new
 * version. Callers must serialise syncs and ingestion writes (hold the ingestion lock): chunks
 * deleted outright while a sync runs are tolerated, but two concurrent syncs conflict.
 */
export async function syncDenseIndex(opts: SyncOptions): Promise<SyncReport> {
  const started = process.hrtime.bigint();
  const { db, dataDir, modelId, dim, params } = opts;
  const log = opts.log ?? silentLogger;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dimension must be a positive integer, got ${dim}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const indexDir = path.join(dataDir, 'index');
  fs.mkdirSync(indexDir, { recursive: true });
  removeStaleTempFiles(indexDir, log, 'index');
  removeOrphanFiles(db, indexDir, log);

  const active = activeVersion(db);
  // Chunks created after this point are left for the next sync.
  const maxId = (db.prepare('SELECT coalesce(max(id), 0) FROM chunks').pluck().get() as number) ?? 0;

  let reason: RebuildReason | null = opts.rebuild ? 'forced' : null;
  if (!reason) {
    if (!active) reason = 'no_active_version';
    else if (active.model_id !== modelId || active.dim !== dim) reason = 'model_changed';
    else if (active.params.m !== params.m || active.params.ef_construction !== params.ef_construction) reason = 'params_changed';
  }

  let index: HnswIndex | undefined;
  if (!reason && active) {
    const changes = pendingChanges(db);
    if (changes.add === 0 && changes.remove === 0 && activeFileSound(db, dataDir, active, log)) {
      return { version_id: active.id, file: active.file, added: 0, removed: 0, vectors: active.vectors, rebuilt: false, rebuild_reason: null, pruned: [], seconds: seconds() };
    }
    const loaded = loadForUpdate(db, dataDir, active, params, log);
    if ('reason' in loaded) reason = loaded.reason;
    else index = loaded.index;
  }

  if (!reason && !active) throw new Error('unreachable: incremental sync without an active version');
  const rebuilt = reason !== null;
  if (rebuilt) {
    const live = db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NULL AND id <= ?').pluck().get(maxId) as number;
    if (live === 0 && !active) {
      return { version_id: null, file: null, added: 0, removed: 0, vectors: 0, rebuilt: false, rebuild_reason: null, pruned: [], seconds: seconds() };
    }
    log.info({ reason, live, model: modelId, dim }, 'building a new dense index lineage');
    index = HnswIndex.create(dim, Math.ceil(live * 1.05), { m: params.m, efConstruction: params.ef_construction, seed: opts.seed }, params.ef_search);
  }
  const ix = index as HnswIndex;

  // 1. Removals (incremental only: a rebuilt index never contained retired chunks).
  const removedIds: number[] = rebuilt
    ? []
    : (db.prepare('SELECT id FROM chunks WHERE retired_at IS NOT NULL AND vector_label IS NOT NULL ORDER BY id').pluck().all() as number[]);
  removedIds.forEach((id, i) => {
    if (!ix.remove(id)) log.warn({ chunk: id }, 'retired chunk was labelled but not live in the active index file');
    if ((i + 1) % 10000 === 0) opts.onProgress?.({ phase: 'remove', done: i + 1, total: removedIds.length });
  });
  if (removedIds.length) opts.onProgress?.({ phase: 'remove', done: removedIds.length, total: removedIds.length });

  // 2. Additions, in batches so a 1M-chunk rebuild holds one batch of vectors at a time.
  const toAddSql = rebuilt
    ? 'SELECT id, embed_hash, embed_text FROM chunks WHERE retired_at IS NULL AND id > ? AND id <= ? ORDER BY id LIMIT ?'
    : 'SELECT id, embed_hash, embed_text FROM chunks WHERE vector_label IS NULL AND retired_at IS NULL AND id > ? AND id <= ? ORDER BY id LIMIT ?';
  const total = rebuilt
    ? (db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NULL AND id <= ?').pluck().get(maxId) as number)
    : (db.prepare('SELECT count(*) FROM chunks WHERE vector_label IS NULL AND retired_at IS NULL AND id <= ?').pluck().get(maxId) as number);
  const selectBatch = db.prepare(toAddSql);
  const addedIds: number[] = [];
  let cursor = 0;
  for (;;) {
    const batch = selectBatch.all(cursor, maxId, batchSize) as ChunkToEmbed[];
    if (batch.length === 0) break;
    cursor = batch[batch.length - 1].id;
    const vectors = await opts.getVectors(batch);
    for (const c of batch) {
      const v = vectors.get(c.embed_hash);
      if (!v) throw new Error(`getVectors returned no vector for chunk ${c.id} (embed_hash ${c.embed_hash})`);
      if (v.length !== dim) throw new Error(`vector for chunk ${c.id} has dimension ${v.length}, expected ${dim}`);
      ix.add(c.id, v);
      addedIds.push(c.id);
      // Each add is a synchronous native call (~1 ms at 384 dims): yield often so a server
      // sharing this process keeps answering during a long build.
      if (addedIds.length % YIELD_EVERY === 0) await yieldToEventLoop();
    }
    opts.onProgress?.({ phase: 'add', done: addedIds.length, total: Math.max(total, addedIds.length) });
  }

  // Chunks deleted outright (they were pending) while we embedded must not enter the file.
  const gone = missingChunkIds(db, addedIds);
  for (const id of gone) ix.remove(id);
  const labelled = gone.size ? addedIds.filter((id) => !gone.has(id)) : addedIds;

  // 3. Write the new version's file.
  const versionId = ((db.prepare('SELECT coalesce(max(id), 0) FROM index_versions').pluck().get() as number) ?? 0) + 1;
  const relFile = path.posix.join('index', `${modelSlug(modelId)}-v${versionId}.hnsw`);
  const absFile = path.join(dataDir, relFile);
  if (db.prepare('SELECT 1 FROM index_versions WHERE file = ?').get(relFile)) {
    throw new SyncConflictError(`index file ${relFile} already belongs to a version: is another sync running?`);
  }
  opts.onProgress?.({ phase: 'write', done: 0, total: 1 });
  const written = await ix.writeAtomic(absFile);
  opts.onProgress?.({ phase: 'write', done: 1, total: 1 });

  // 4. Activate: one transaction, so SQLite and the active file agree at every instant.
  const vectors = ix.count;
  let dropped = 0;
  try {
    db.transaction(() => {
      const nowActive = activeVersion(db);
      if ((nowActive?.id ?? null) !== (active?.id ?? null)) {
        throw new SyncConflictError(`the active index version changed during the sync (${active?.id ?? 'none'} → ${nowActive?.id ?? 'none'})`);
      }
      db.prepare('INSERT INTO index_versions (id, model_id, dim, file, vectors, params, active, sha256, bytes) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)').run(
        versionId,
        modelId,
        dim,
        relFile,
        vectors,
        JSON.stringify({ m: params.m, ef_construction: params.ef_construction, max_elements: ix.capacity }),
        written.sha256,
        written.bytes,
      );
      db.prepare('UPDATE index_versions SET active = 0 WHERE active = 1').run();
      db.prepare('UPDATE index_versions SET active = 1 WHERE id = ?').run(versionId);
      if (rebuilt) db.prepare('UPDATE chunks SET vector_label = NULL WHERE vector_label IS NOT NULL').run();
      const setLabel = db.prepare(
        rebuilt ? 'UPDATE chunks SET vector_label = id WHERE id = ?' : 'UPDATE chunks SET vector_label = id WHERE id = ? AND vector_label IS NULL',
      );
      for (const id of labelled) {
        if (setLabel.run(id).changes !== 1) throw new SyncConflictError(`chunk ${id} changed while the index was built`);
      }
      const dropRetired = db.prepare('DELETE FROM chunks WHERE id = ? AND retired_at IS NOT NULL');
      for (const id of removedIds) dropRetired.run(id);
      // Retired chunks in no index (all of them after a rebuild) have nothing left to wait for.
      dropped = db.prepare('DELETE FROM chunks WHERE retired_at IS NOT NULL AND vector_label IS NULL').run().changes;
      const check = db.prepare('SELECT count(*) FROM chunks WHERE vector_label IS NOT NULL').pluck().get() as number;
      if (check !== vectors) throw new SyncConflictError(`labelled chunks (${check}) != vectors in the new file (${vectors})`);
    })();
  } catch (err) {
    fs.rmSync(absFile, { force: true }); // never activated: nothing refers to it
    throw err;
  }
  const pruned = pruneVersions(db, dataDir, params.keep_versions, log);
  // After a rebuild the removed vectors are the retired chunks the old version still held.
  const removed = rebuilt ? dropped : removedIds.length;
  log.info({ version: versionId, added: labelled.length, removed, vectors, rebuilt, reason }, 'dense index version activated');
  return {
    version_id: versionId,
    file: relFile,
    added: labelled.length,
    removed,
    vectors,
    rebuilt,
    rebuild_reason: reason,
    pruned,
    seconds: seconds(),
  };
}

/** Loads the active file for an in-place update, or says why a rebuild is needed instead. */
function loadForUpdate(db: DB, dataDir: string, active: IndexVersion, params: DenseIndexParams, log: Logger): { index: HnswIndex } | { reason: RebuildReason } {
  const labelled = db.prepare('SELECT count(*) FROM chunks WHERE vector_label IS NOT NULL').pluck().get() as number;
  if (labelled !== active.vectors) {
    log.warn({ version: active.id, labelled, vectors: active.vectors }, 'labelled chunks disagree with the active version: rebuilding');
    return { reason: 'inconsistent' };
  }
  // The whole file is verified (checksum, structure, header against the row) in the read that
  // precedes hnswlib's: a corrupt file is rebuilt from the embedding cache instead of crashing.
  let index: HnswIndex;
  let scanned: ScanResult | null = null;
  try {
    index = loadVersion(dataDir, active, params.ef_search, (scan) => (scanned = scan));
  } catch (err) {
    const corrupt = err instanceof IndexIntegrityError;
    log.warn({ version: active.id, file: active.file, err: (err as Error).message }, `active index file ${corrupt ? 'failed verification' : 'unreadable'}: rebuilding`);
    return { reason: corrupt ? 'active_file_corrupt' : 'active_file_unreadable' };
  }
  if (scanned) backfillChecksum(db, active, scanned);
  // Cheap spot check that the file holds what SQLite says it holds.
  const sample = db.prepare('SELECT id FROM chunks WHERE vector_label IS NOT NULL ORDER BY random() LIMIT ?').pluck().all(SAMPLE_CHECK) as number[];
  const missing = sample.filter((id) => !index.has(id));
  if (missing.length) {
    log.warn({ version: active.id, missing: missing.slice(0, 10) }, 'labelled chunks missing from the active index file: rebuilding');
    return { reason: 'inconsistent' };
  }
  return { index };
}

/**
 * Full verification of the active file (one sequential read: checksum + structure), so an idle
 * weekly run notices a file that went bad since it was written and rebuilds it.
 */
function activeFileSound(db: DB, dataDir: string, active: IndexVersion, log: Logger): boolean {
  const check = verifyVersion(dataDir, active);
  if (check.ok) {
    if (backfillChecksum(db, active, check)) log.info({ version: active.id }, 'recorded the checksum of an index file written before checksums existed');
    return true;
  }
  log.warn({ version: active.id, file: active.file, problem: check.problem }, 'active index file failed verification');
  return false;
}

function missingChunkIds(db: DB, ids: number[]): Set<number> {
  const gone = new Set<number>();
  const step = 500;
  for (let i = 0; i < ids.length; i += step) {
    const part = ids.slice(i, i + step);
    const found = new Set(db.prepare(`SELECT id FROM chunks WHERE id IN (${part.map(() => '?').join(',')})`).pluck().all(...part) as number[]);
    for (const id of part) if (!found.has(id)) gone.add(id);
  }
  return gone;
}

/**
 * Deletes the files (and rows) of old versions: per model the newest `keep` versions stay, and
 * the active version always stays.
 */
export function pruneVersions(db: DB, dataDir: string, keep: number, log: Logger = silentLogger): string[] {
  const versions = listVersions(db).sort((a, b) => b.id - a.id);
  const keptPerModel = new Map<string, number>();
  const doomed: IndexVersion[] = [];
  for (const v of versions) {
    const n = keptPerModel.get(v.model_id) ?? 0;
    if (v.active || n < keep) keptPerModel.set(v.model_id, n + 1);
    else doomed.push(v);
  }
  const removed: string[] = [];
  for (const v of doomed.reverse()) {
    const stillReferenced = versions.some((o) => o.file === v.file && o.id !== v.id && !doomed.includes(o));
    db.prepare('DELETE FROM index_versions WHERE id = ? AND active = 0').run(v.id);
    if (!stillReferenced) {
      try {
        fs.rmSync(path.join(dataDir, v.file), { force: true });
        removed.push(v.file);
      } catch (err) {
        log.warn({ file: v.file, err: (err as Error).message }, 'could not delete an old index file');
      }
    }
  }
  if (removed.length) fsyncDir(path.join(dataDir, 'index'));
  return removed;
}

/**
 * Removes index files no version refers to: written by a sync killed before its activation
 * committed. Safe because syncs are serialised by the ingestion lock (the caller holds it), so
 * no other sync can be between its rename and its commit. `.corrupt` files are kept for the operator.
 */
function removeOrphanFiles(db: DB, indexDir: string, log: Logger): void {
  const known = new Set(listVersions(db).map((v) => path.basename(v.file)));
  for (const name of fs.readdirSync(indexDir)) {
    if (!name.endsWith('.hnsw') || known.has(name)) continue;
    fs.rmSync(path.join(indexDir, name), { force: true });
    log.info({ file: name }, 'removed an index file of a version that was never activated');
  }
}


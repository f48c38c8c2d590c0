import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type DB } from '../store/index.ts';
import { HnswIndex } from './hnsw.ts';
import { Corpus, makeGetVectors, vectorFor } from './test-corpus.ts';
import { activeVersion, listVersions, modelSlug, pendingChanges, pendingCount, SyncConflictError, syncDenseIndex, type SyncOptions } from './versions.ts';

const DIM = 16;
const MODEL = 'local:test/e5@q8';
const params = { m: 8, ef_construction: 64, ef_search: 64, keep_versions: 2 };

let dataDir: string;
let db: DB;
let corpus: Corpus;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-versions-'));
  db = openStore(path.join(dataDir, 'kb.sqlite'));
  corpus = new Corpus(db);
});
afterEach(() => {
  db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const sync = (over: Partial<SyncOptions> = {}) =>
  syncDenseIndex({ db, dataDir, modelId: MODEL, dim: DIM, params, getVectors: makeGetVectors(MODEL, DIM), batchSize: 7, ...over });

/** The invariant: live labels of the active file == chunks with vector_label (and label = id). */
function assertInvariant(): HnswIndex {
  const v = activeVersion(db);
  expect(v).not.toBeNull();
  const index = HnswIndex.load(path.join(dataDir, v!.file), v!.dim);
  expect(index.liveLabels()).toEqual(corpus.labelled());
  expect(index.count).toBe(v!.vectors);
  expect(db.prepare('SELECT count(*) FROM chunks WHERE vector_label IS NOT NULL AND vector_label != id').pluck().get()).toBe(0);
  return index;
}

const indexFiles = (): string[] => fs.readdirSync(path.join(dataDir, 'index')).sort();

describe('syncDenseIndex', () => {
  it('does nothing on an empty corpus', async () => {
    const r = await sync();
    expect(r).toMatchObject({ version_id: null, added: 0, removed: 0, vectors: 0 });
    expect(activeVersion(db)).toBeNull();
  });

  it('builds the first version from all live chunks, in batches', async () => {
    const ids = [...corpus.addDocument(20), ...corpus.addDocument(15)];
    expect(pendingCount(db)).toBe(35);
    const getVectors = makeGetVectors(MODEL, DIM);
    const progress: string[] = [];
    const r = await sync({ getVectors, onProgress: (p) => progress.push(p.phase) });
    expect(r).toMatchObject({ added: 35, removed: 0, vectors: 35, rebuilt: true, rebuild_reason: 'no_active_version' });
    expect(getVectors.calls()).toBe(5); // 35 chunks / batch 7
    expect(progress).toContain('add');
    expect(progress.at(-1)).toBe('write');
    expect(r.file).toBe(`index/${modelSlug(MODEL)}-v${r.version_id}.hnsw`);
    expect(activeVersion(db)).toMatchObject({ id: r.version_id, model_id: MODEL, dim: DIM, vectors: 35, active: true });
    expect(pendingCount(db)).toBe(0);
    const index = assertInvariant();
    // Searching with a chunk's own embedding finds that chunk.
    const hash = db.prepare('SELECT embed_hash FROM chunks WHERE id = ?').pluck().get(ids[9]) as string;
    expect(index.search(vectorFor(MODEL, hash, DIM), 1)[0].label).toBe(ids[9]);
  });

  it('is a no-op (no new version) when nothing changed', async () => {
    corpus.addDocument(10);
    const first = await sync();
    const getVectors = makeGetVectors(MODEL, DIM);
    const again = await sync({ getVectors });
    expect(again).toMatchObject({ version_id: first.version_id, file: first.file, added: 0, removed: 0, vectors: 10, rebuilt: false });
    expect(getVectors.calls()).toBe(0);
    expect(listVersions(db)).toHaveLength(1);
  });

  it('applies adds, edits and deletions incrementally and keeps the invariant', async () => {
    const ids = corpus.addDocument(30);
    const v1 = await sync();
    const slotsBefore = HnswIndex.load(path.join(dataDir, v1.file!), DIM).slots;

    corpus.removeChunk(ids[0]); // labelled → retired
    corpus.removeChunk(ids[1]);
    const edited = corpus.changeChunk(ids[2]); // retired + new chunk
    const fresh = corpus.addDocument(4);
    const pendingThenDeleted = corpus.addDocument(1)[0];
    corpus.removeChunk(pendingThenDeleted); // never indexed → deleted outright
    expect(pendingChanges(db)).toEqual({ add: 5, remove: 3 });
    expect(db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NOT NULL').pluck().get()).toBe(3);

    const getVectors = makeGetVectors(MODEL, DIM);
    const r = await sync({ getVectors });
    expect(r).toMatchObject({ added: 5, removed: 3, vectors: 32, rebuilt: false, rebuild_reason: null });
    expect(r.version_id).toBeGreaterThan(v1.version_id!);
    expect(getVectors.seen.sort((a, b) => a - b)).toEqual([edited, ...fresh].sort((a, b) => a - b)); // only new chunks embedded
    // Retired chunks are gone from SQLite now that the active file no longer holds them.
    expect(db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NOT NULL').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM chunks WHERE id IN (?, ?, ?)').pluck().get(ids[0], ids[1], ids[2])).toBe(0);
    const index = assertInvariant();
    expect(index.slots).toBe(slotsBefore + 2); // 3 freed slots reused by 5 adds
    // The previous version's file is untouched and still readable.
    expect(HnswIndex.load(path.join(dataDir, v1.file!), DIM).liveLabels()).toEqual(ids);
  });

  it('switches model by building a new lineage while the old version keeps serving', async () => {
    corpus.addDocument(12);
    const old = await sync();
    const oldFile = path.join(dataDir, old.file!);
    const NEW = 'openai:text-embedding-3-small';
    const seenDuringBuild: { active: number | null; oldCount: number }[] = [];
    const getVectors = makeGetVectors(NEW, 24, {
      beforeCall: () => {
        // Mid-build: the old version is still the active one and its file still loads.
        seenDuringBuild.push({ active: activeVersion(db)?.id ?? null, oldCount: HnswIndex.load(oldFile, DIM).count });
      },
    });
    const r = await sync({ modelId: NEW, dim: 24, getVectors });
    expect(seenDuringBuild.length).toBeGreaterThan(0);
    expect(seenDuringBuild.every((s) => s.active === old.version_id && s.oldCount === 12)).toBe(true);
    expect(r).toMatchObject({ rebuilt: true, rebuild_reason: 'model_changed', added: 12, vectors: 12 });
    expect(activeVersion(db)).toMatchObject({ id: r.version_id, model_id: NEW, dim: 24 });
    expect(r.file).toMatch(/^index\/openai-text-embedding-3-small-v\d+\.hnsw$/);
    assertInvariant();
    expect(fs.existsSync(oldFile)).toBe(true); // kept: keep_versions applies per model
  });

  it('a rebuild drops retired chunks and relabels every live chunk', async () => {
    const ids = corpus.addDocument(10);
    await sync();
    corpus.removeChunk(ids[4]);
    const r = await sync({ rebuild: true });
    expect(r).toMatchObject({ rebuilt: true, rebuild_reason: 'forced', added: 9, removed: 1, vectors: 9 });
    expect(db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NOT NULL').pluck().get()).toBe(0);
    assertInvariant();
  });

  it('rebuilds when the HNSW parameters change', async () => {
    corpus.addDocument(5);
    await sync();
    const r = await sync({ params: { ...params, m: 12 } });
    expect(r).toMatchObject({ rebuilt: true, rebuild_reason: 'params_changed', vectors: 5 });
    expect(activeVersion(db)!.params.m).toBe(12);
  });

  it('a sync that fails midway leaves the previous version active and SQLite unchanged', async () => {
    const ids = corpus.addDocument(10);
    const v1 = await sync();
    corpus.removeChunk(ids[0]);
    corpus.addDocument(20);
    const before = corpus.snapshot();
    const filesBefore = indexFiles();
    await expect(sync({ getVectors: makeGetVectors(MODEL, DIM, { failOnCall: 2 }) })).rejects.toThrow(/embedding endpoint failed/);
    expect(corpus.snapshot()).toEqual(before);
    expect(activeVersion(db)!.id).toBe(v1.version_id);
    expect(indexFiles()).toEqual(filesBefore);
    assertInvariant();
    // The next sync redoes the work.
    const r = await sync();
    expect(r).toMatchObject({ added: 20, removed: 1, vectors: 29 });
    assertInvariant();
  });

  it('fails clearly when getVectors omits a vector or returns the wrong dimension', async () => {
    corpus.addDocument(3);
    await expect(sync({ getVectors: async () => new Map() })).rejects.toThrow(/no vector for chunk \d+/);
    await expect(sync({ getVectors: makeGetVectors(MODEL, DIM + 1) })).rejects.toThrow(/dimension 17, expected 16/);
    expect(activeVersion(db)).toBeNull();
    expect(pendingCount(db)).toBe(3);
  });

  it('skips chunks deleted outright while the sync was embedding', async () => {
    corpus.addDocument(5);
    await sync();
    const fresh = corpus.addDocument(6);
    const getVectors = makeGetVectors(MODEL, DIM, {
      beforeCall: (n) => {
        if (n === 1) corpus.removeChunk(fresh[5]); // pending, so ingestion deletes it
      },
    });
    const r = await sync({ getVectors, batchSize: 100 });
    expect(r).toMatchObject({ added: 5, vectors: 10 });
    assertInvariant();
  });

  it('aborts without side effects when another version was activated meanwhile', async () => {
    corpus.addDocument(5);
    const v1 = await sync();
    corpus.addDocument(2);
    const getVectors = makeGetVectors(MODEL, DIM, {
      beforeCall: () => {
        db.prepare("INSERT INTO index_versions (id, model_id, dim, file, vectors, params, active) VALUES (99, 'x', 16, 'index/x.hnsw', 0, '{}', 0)").run();
        db.prepare('UPDATE index_versions SET active = 0').run();
        db.prepare('UPDATE index_versions SET active = 1 WHERE id = 99').run();
      },
    });
    await expect(sync({ getVectors })).rejects.toThrow(SyncConflictError);
    expect(indexFiles()).toEqual([path.basename(v1.file!)]); // the unactivated file is removed
    expect(pendingCount(db)).toBe(2);
  });

  it('rebuilds when the active file is missing or corrupt', async () => {
    corpus.addDocument(8);
    const v1 = await sync();
    fs.writeFileSync(path.join(dataDir, v1.file!), 'garbage');
    const r = await sync();
    expect(r).toMatchObject({ rebuilt: true, rebuild_reason: 'active_file_corrupt', vectors: 8 });
    assertInvariant();
    fs.rmSync(path.join(dataDir, r.file!));
    corpus.addDocument(1);
    expect(await sync()).toMatchObject({ rebuilt: true, rebuild_reason: 'active_file_unreadable', vectors: 9 });
    assertInvariant();
  });

  it('records the SHA-256 and size of every file it writes', async () => {
    corpus.addDocument(5);
    const r = await sync();
    const v = activeVersion(db)!;
    const bytes = fs.readFileSync(path.join(dataDir, r.file!));
    expect(v.bytes).toBe(bytes.length);
    expect(v.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('a single flipped bit in the active file (header or vectors) triggers a rebuild, even on an idle run', async () => {
    corpus.addDocument(20);
    for (const offset of [52, 200, -9]) {
      const v = await sync();
      const file = path.join(dataDir, activeVersion(db)!.file);
      const bytes = fs.readFileSync(file);
      const at = offset < 0 ? bytes.length + offset : offset;
      bytes[at] ^= 0x01; // a vector component or padding: structurally still valid, only the checksum sees it
      fs.writeFileSync(file, bytes);
      const r = await sync(); // nothing pending: the idle path must verify too
      expect(r, `offset ${at} of version ${v.version_id}`).toMatchObject({ rebuilt: true, rebuild_reason: 'active_file_corrupt', vectors: 20 });
      assertInvariant();
    }
  });

  it('a version written before checksums existed is checked structurally, then gets its checksum recorded', async () => {
    corpus.addDocument(6);
    const v1 = await sync();
    db.prepare('UPDATE index_versions SET sha256 = NULL, bytes = NULL').run();
    const idle = await sync();
    expect(idle).toMatchObject({ version_id: v1.version_id, rebuilt: false });
    const bytes = fs.readFileSync(path.join(dataDir, v1.file!));
    expect(activeVersion(db)).toMatchObject({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  });

  it('rebuilds when SQLite and the active version disagree', async () => {
    const ids = corpus.addDocument(8);
    await sync();
    db.prepare('UPDATE chunks SET vector_label = NULL WHERE id = ?').run(ids[0]); // damaged state
    const r = await sync();
    expect(r).toMatchObject({ rebuilt: true, rebuild_reason: 'inconsistent', vectors: 8 });
    assertInvariant();
  });

  it('prunes old files to keep_versions per model, never the active one', async () => {
    const ids = corpus.addDocument(10);
    const versions: number[] = [];
    for (let i = 0; i < 4; i++) {
      corpus.changeChunk(ids[i]);
      const r = await sync();
      versions.push(r.version_id!);
    }
    const slug = modelSlug(MODEL);
    expect(indexFiles()).toEqual([`${slug}-v${versions[2]}.hnsw`, `${slug}-v${versions[3]}.hnsw`]);
    expect(listVersions(db).map((v) => v.id)).toEqual(versions.slice(2));
    expect(activeVersion(db)!.id).toBe(versions[3]);
    // keep_versions = 1 keeps only the active file.
    corpus.changeChunk(ids[5]);
    const last = await sync({ params: { ...params, keep_versions: 1 } });
    expect(last.pruned).toEqual([`index/${slug}-v${versions[2]}.hnsw`, `index/${slug}-v${versions[3]}.hnsw`]);
    expect(indexFiles()).toEqual([`${slug}-v${last.version_id}.hnsw`]);
    assertInvariant();
  });

  it('removes files of versions that were never activated (a sync killed before its commit)', async () => {
    corpus.addDocument(3);
    const v1 = await sync();
    const orphan = path.join(dataDir, 'index', 'local-test-e5-q8-v7.hnsw');
    fs.copyFileSync(path.join(dataDir, v1.file!), orphan);
    fs.writeFileSync(path.join(dataDir, 'index', 'x-v1.hnsw.corrupt'), 'kept');
    corpus.addDocument(1);
    await sync();
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'index', 'x-v1.hnsw.corrupt'))).toBe(true);
  });

  it('removes temp files left by a dead writer', async () => {
    corpus.addDocument(2);
    fs.mkdirSync(path.join(dataDir, 'index'), { recursive: true });
    const stale = path.join(dataDir, 'index', 'x-v1.hnsw.tmp-999999999');
    fs.writeFileSync(stale, 'partial');
    await sync();
    expect(fs.existsSync(stale)).toBe(false);
  });
});

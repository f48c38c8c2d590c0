import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore, type DB } from '../store/index.ts';
import { DenseIndexReader } from './reader.ts';
import { Corpus, makeGetVectors, vectorFor } from './test-corpus.ts';
import { activeVersion, syncDenseIndex } from './versions.ts';

const DIM = 16;
const MODEL = 'local:test/e5@q8';
const params = { m: 8, ef_construction: 64, ef_search: 64, keep_versions: 3 };

let dataDir: string;
let db: DB;
let corpus: Corpus;
let reader: DenseIndexReader | undefined;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-reader-'));
  db = openStore(path.join(dataDir, 'kb.sqlite'));
  corpus = new Corpus(db);
});
afterEach(() => {
  reader?.stop();
  reader = undefined;
  db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const sync = () => syncDenseIndex({ db, dataDir, modelId: MODEL, dim: DIM, params, getVectors: makeGetVectors(MODEL, DIM) });
const queryFor = (chunkId: number): Float32Array =>
  vectorFor(MODEL, db.prepare('SELECT embed_hash FROM chunks WHERE id = ?').pluck().get(chunkId) as string, DIM);
const newReader = (intervalMs = 60_000): DenseIndexReader => (reader = new DenseIndexReader({ db, dataDir, efSearch: 64, reloadIntervalMs: intervalMs }));

describe('DenseIndexReader', () => {
  it('serves nothing, and says so, before any version exists', async () => {
    const r = newReader();
    await r.start();
    expect(r.ready).toBe(false);
    expect(r.search(new Float32Array(DIM).fill(0.5), 5)).toEqual([]);
    expect(r.status()).toMatchObject({ version: null, activeVersion: null, vectors: 0, error: null });
  });

  it('hot-swaps to a new version after maybeReload and keeps serving the old one while loading', async () => {
    const first = corpus.addDocument(10);
    const v1 = await sync();
    const r = newReader();
    await r.start();
    expect(r.status()).toMatchObject({ version: v1.version_id, model: MODEL, dim: DIM, vectors: 10 });
    expect(r.search(queryFor(first[3]), 1)[0].label).toBe(first[3]);

    const added = corpus.addDocument(3);
    const removedQuery = queryFor(first[3]); // its row goes away with the sync
    corpus.removeChunk(first[3]);
    const v2 = await sync();
    const reload = r.maybeReload();
    // The new file loads on the thread pool; meanwhile searches run on the old version.
    expect(r.status()).toMatchObject({ version: v1.version_id, activeVersion: v2.version_id, loading: true });
    expect(r.search(removedQuery, 1)[0].label).toBe(first[3]);
    expect(r.maybeReload()).toBe(reload); // one load at a time
    expect(await reload).toBe(true);
    expect(r.status()).toMatchObject({ version: v2.version_id, vectors: 12, loading: false, error: null });
    expect(r.search(queryFor(added[1]), 1)[0].label).toBe(added[1]);
    expect(r.search(removedQuery, 20).map((h) => h.label)).not.toContain(first[3]);
    expect(await r.maybeReload()).toBe(false); // nothing new
  });

  it('keeps serving the previous version when the new file is missing or corrupt, and recovers', async () => {
    const ids = corpus.addDocument(6);
    const v1 = await sync();
    const r = newReader();
    await r.start();
    corpus.addDocument(2);
    const v2 = await sync();
    const file2 = path.join(dataDir, v2.file!);
    const good = fs.readFileSync(file2);
    fs.writeFileSync(file2, good.subarray(0, good.length - 10));

    expect(await r.maybeReload()).toBe(false);
    const s = r.status();
    expect(s).toMatchObject({ version: v1.version_id, activeVersion: v2.version_id });
    expect(s.error).toMatchObject({ version: v2.version_id, file: v2.file });
    expect(s.error!.message).toMatch(/truncated/);
    expect(r.search(queryFor(ids[0]), 1)[0].label).toBe(ids[0]);
    expect(await r.maybeReload()).toBe(false); // backing off: no immediate retry

    fs.rmSync(file2);
    expect(await r.maybeReload({ force: true })).toBe(false);
    expect(r.status().error!.message).toMatch(/not found/);

    fs.writeFileSync(file2, good);
    expect(await r.maybeReload({ force: true })).toBe(true);
    expect(r.status()).toMatchObject({ version: v2.version_id, vectors: 8, error: null });
  });

  it('at start, a corrupt active file is never loaded: the newest older version that verifies serves, and says so', async () => {
    const ids = corpus.addDocument(6);
    const v1 = await sync();
    corpus.changeChunk(ids[0]);
    const v2 = await sync();
    const added = corpus.addDocument(2);
    const v3 = await sync();
    // v3: a flipped vector byte (structurally fine: only the checksum sees it); v2: bad entry point.
    const f3 = path.join(dataDir, v3.file!);
    const b3 = fs.readFileSync(f3);
    b3[96 + Number(b3.readBigUInt64LE(40)) + 2] ^= 0x40; // inside element 0's vector
    fs.writeFileSync(f3, b3);
    const f2 = path.join(dataDir, v2.file!);
    const b2 = fs.readFileSync(f2);
    b2.writeUInt32LE(0xfffffff0, 52);
    fs.writeFileSync(f2, b2);

    const r = newReader();
    await r.start();
    const st = r.status();
    expect(st).toMatchObject({ version: v1.version_id, activeVersion: v3.version_id, verified: 'checksum' });
    expect(st.fallback).toMatchObject({ activeVersion: v3.version_id, servingVersion: v1.version_id });
    expect(st.fallback!.reason).toMatch(/checksum mismatch/);
    expect(JSON.stringify(st.fallback) + st.error!.message).not.toContain(dataDir); // status reaches API callers via `degraded`
    expect(st.error).toMatchObject({ version: v3.version_id });
    // v1's labels are chunk ids: still-live chunks are found; chunks added since are not in it.
    expect(r.search(queryFor(ids[3]), 1)[0].label).toBe(ids[3]);
    expect(r.search(queryFor(added[0]), 10).map((h) => h.label)).not.toContain(added[0]);

    // A rebuilt version (what `kb index rebuild` writes) is picked up and clears the fallback.
    const v4 = await syncDenseIndex({ db, dataDir, modelId: MODEL, dim: DIM, params, getVectors: makeGetVectors(MODEL, DIM), rebuild: true });
    expect(await r.maybeReload({ force: true })).toBe(true);
    expect(r.status()).toMatchObject({ version: v4.version_id, fallback: null, error: null });
    expect(r.search(queryFor(added[0]), 1)[0].label).toBe(added[0]);
  });

  it('with no older version that verifies, serves no dense index (BM25 only) rather than a bad file', async () => {
    corpus.addDocument(6);
    const v1 = await sync();
    const f1 = path.join(dataDir, v1.file!);
    const b1 = fs.readFileSync(f1);
    const level0 = 96 + Number(b1.readBigUInt64LE(16) * b1.readBigUInt64LE(24));
    b1.fill(0xff, 96, Math.min(level0, 96 + 4096)); // up to 4 KB of level-0 data
    fs.writeFileSync(f1, b1);
    const r = newReader();
    await r.start();
    expect(r.ready).toBe(false);
    expect(r.status()).toMatchObject({ version: null, activeVersion: v1.version_id, fallback: { activeVersion: v1.version_id, servingVersion: null } });
    expect(r.search(new Float32Array(DIM).fill(0.1), 5)).toEqual([]);
  });

  it('a version written before checksums existed is loaded after the structural check, and reported as such', async () => {
    corpus.addDocument(4);
    await sync();
    db.prepare('UPDATE index_versions SET sha256 = NULL, bytes = NULL').run();
    const r = newReader();
    await r.start();
    expect(r.status()).toMatchObject({ vectors: 4, verified: 'structure_only', fallback: null });
  });

  it('applies the filter to searches', async () => {
    const ids = corpus.addDocument(30);
    await sync();
    const r = newReader();
    await r.start();
    const allowed = new Set(ids.slice(10, 20));
    const hits = r.search(queryFor(ids[0]), 5, (label) => allowed.has(label));
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => allowed.has(h.label))).toBe(true);
  });

  it('picks up new versions on its own once started, until stopped', async () => {
    corpus.addDocument(4);
    await sync();
    const r = newReader(20);
    await r.start();
    corpus.addDocument(4);
    const v2 = await sync();
    await vi.waitFor(() => expect(r.status().version).toBe(v2.version_id), { timeout: 5000, interval: 10 });
    r.stop();
    corpus.addDocument(1);
    const v3 = await sync();
    expect(activeVersion(db)!.id).toBe(v3.version_id);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.status().version).toBe(v2.version_id); // stopped: no further reloads
  });
});

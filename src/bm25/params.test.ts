import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addDocs, openTestStore, retrievalConfig, type DocSpec, type TestStore } from '../../test/retrieval/kit.ts';
import { loadConfig } from '../config/index.ts';
import { evaluateRetrieval } from '../eval/retrieval.ts';
import { createHybridRetriever } from '../retrieval/hybrid.ts';
import { matchAnyTerm, searchBm25 } from './index.ts';
import { Bm25Leg } from './leg.ts';
import { FTS5_BM25, bm25ParamsOf } from './scoring.ts';
import { activeBm25Version, listBm25Versions, paramsMismatch, syncBm25Index, versionParams } from './versions.ts';

// Settable k1/b (`retrieval.bm25.k1` / `.b`): a change makes the next build a new version, the
// leg serves a stale file but says so, and the FTS5 fallback (fixed 1.2 / 0.75) says so too.

let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

const OTHER = { k1: 2, b: 0.3 };

// Chunks of different lengths and term counts, so that k1/b change scores and order.
function docs(): DocSpec[] {
  return Array.from({ length: 40 }, (_, i) => ({
    id: `d${i}`,
    chunks: [[...Array(1 + (i % 4)).fill('芯片'), ...Array(2 + ((i * 7) % 23)).fill('市场'), i % 3 === 0 ? 'battery' : 'export'].join(' ')],
    kind: 'post' as const,
    source: 'wire',
    publishedAt: null,
    tags: [],
    acl: [],
  }));
}

describe('BM25 k1/b', () => {
  it('config: absent keys mean FTS5 values; given ones are used', () => {
    expect(bm25ParamsOf(undefined)).toEqual(FTS5_BM25);
    expect(bm25ParamsOf({})).toEqual(FTS5_BM25);
    expect(bm25ParamsOf({ k1: 0.9 })).toEqual({ k1: 0.9, b: 0.75 });
    expect(bm25ParamsOf({ k1: 2, b: 0.3 })).toEqual(OTHER);
  });

  it('config: retrieval.bm25.k1 / .b are validated (k1 ≥ 0, b in 0..1) and overridable', () => {
    expect(bm25ParamsOf(loadConfig({ env: { KB_RETRIEVAL__BM25__K1: '1.6', KB_RETRIEVAL__BM25__B: '0.5' } }).retrieval.bm25)).toEqual({ k1: 1.6, b: 0.5 });
    expect(() => loadConfig({ env: { KB_RETRIEVAL__BM25__B: '1.5' } })).toThrowError(/retrieval\.bm25\.b/);
    expect(() => loadConfig({ env: { KB_RETRIEVAL__BM25__K1: '-1' } })).toThrowError(/retrieval\.bm25\.k1/);
  });

  it('a changed k1/b builds a new version (reason params_changed) recording them; unchanged ones do not', () => {
    store = openTestStore();
    addDocs(store, docs());
    expect(syncBm25Index(store.db, store.dir)).toMatchObject({ built: true, version_id: 1 });
    expect(versionParams(activeBm25Version(store.db)!)).toEqual(FTS5_BM25);
    expect(syncBm25Index(store.db, store.dir, { params: FTS5_BM25 })).toMatchObject({ built: false, reason: null });

    const r = syncBm25Index(store.db, store.dir, { params: OTHER });
    expect(r).toMatchObject({ built: true, reason: 'params_changed', version_id: 2 });
    const v2 = activeBm25Version(store.db)!;
    expect(versionParams(v2)).toEqual(OTHER);
    expect(paramsMismatch(v2, OTHER)).toBeNull();
    expect(paramsMismatch(v2, FTS5_BM25)).toMatch(/version 2 was built with k1 2, b 0.3; the configuration says k1 1.2, b 0.75/);
    expect(syncBm25Index(store.db, store.dir, { params: OTHER })).toMatchObject({ built: false, version_id: 2 });
    // Going back is a change too.
    expect(syncBm25Index(store.db, store.dir, { params: FTS5_BM25 })).toMatchObject({ built: true, reason: 'params_changed', version_id: 3 });
    expect(listBm25Versions(store.db).map((v) => versionParams(v))).toEqual([OTHER, FTS5_BM25]);
  });

  it('a version row without recorded k1/b (older builds) counts as FTS5 values', () => {
    expect(versionParams({ params: '{"block_size":64}' })).toEqual(FTS5_BM25);
    expect(versionParams({ params: 'not json' })).toEqual(FTS5_BM25);
    expect(versionParams({ params: '{"k1":1.5,"b":0.6,"block_size":64}' })).toEqual({ k1: 1.5, b: 0.6 });
  });

  it('the leg serves a version built with other k1/b, says so, and switches when the rebuilt one is activated', () => {
    store = openTestStore();
    addDocs(store, docs());
    syncBm25Index(store.db, store.dir); // built with 1.2 / 0.75 …
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, params: OTHER, reloadIntervalMs: 0 }); // … configured 2 / 0.3
    const stale = leg.search(['芯片', 'battery'], 10);
    const fts = searchBm25(store.db, matchAnyTerm(['芯片', 'battery']), 10);
    // Served as built: exactly the FTS5 (1.2 / 0.75) scores, not silently something else.
    stale.forEach((h, i) => expect(Math.abs(h.score - fts[i].score)).toBeLessThanOrEqual(1e-6));
    expect(leg.paramsIssue()).toMatch(/^bm25 params differ, rebuild: the BM25 index version 1 was built with k1 1.2, b 0.75, the configuration says k1 2, b 0.3; .*kb bm25 build/);
    expect(leg.status()).toMatchObject({ version: 1, params: FTS5_BM25, params_issue: expect.stringMatching(/params differ/) });

    syncBm25Index(store.db, store.dir, { params: OTHER });
    const fresh = leg.search(['芯片', 'battery'], 10);
    expect(leg.paramsIssue()).toBeNull();
    expect(leg.status()).toMatchObject({ version: 2, params: OTHER, params_issue: null });
    // The new parameters really score: the scores (and here the order) differ from FTS5's.
    expect(fresh.map((h) => h.score)).not.toEqual(stale.map((h) => h.score));
    expect(fresh.map((h) => h.chunkId)).not.toEqual(stale.map((h) => h.chunkId));
  });

  it('the FTS5 fallback says when it cannot apply the configured k1/b, and is silent at its own values', () => {
    store = openTestStore();
    addDocs(store, docs());
    expect(new Bm25Leg({ db: store.db, dataDir: null }).paramsIssue()).toBeNull();
    expect(new Bm25Leg({ db: store.db, dataDir: store.dir, params: FTS5_BM25 }).paramsIssue()).toBeNull(); // no version yet
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, params: OTHER });
    expect(leg.search(['芯片'], 3)).toHaveLength(3); // still answers
    expect(leg.paramsIssue()).toMatch(/^bm25 params not applied: no usable BM25 engine version, so FTS5 answers and its bm25\(\) fixes k1 1.2, b 0.75 \(the configuration says k1 2, b 0.3\); run `kb bm25 build`/);
  });

  it('the served retriever reports stale k1/b in `degraded` and still answers; not once rebuilt', async () => {
    store = openTestStore();
    addDocs(store, docs());
    syncBm25Index(store.db, store.dir);
    const config = retrievalConfig();
    config.retrieval.bm25 = { ...config.retrieval.bm25, ...OTHER };
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, params: bm25ParamsOf(config.retrieval.bm25), reloadIntervalMs: 0 });
    const retriever = createHybridRetriever({ db: store.db, dense: null, embedder: null, config, bm25: leg });
    const before = await retriever.retrieve({ query: '芯片 battery', topK: 5, groups: null, mode: 'bm25' });
    expect(before.hits.length).toBe(5);
    expect(before.degraded).toEqual([expect.stringMatching(/^bm25: bm25 params differ, rebuild: .*k1 1.2, b 0.75.*k1 2, b 0.3/)]);
    syncBm25Index(store.db, store.dir, { params: OTHER });
    const after = await retriever.retrieve({ query: '芯片 battery', topK: 5, groups: null, mode: 'bm25' });
    expect(after.degraded).toEqual([]);
    // Without an engine leg, the default (FTS5) leg gets the configured k1/b and says it cannot apply them.
    const fallback = createHybridRetriever({ db: store.db, dense: null, embedder: null, config });
    expect((await fallback.retrieve({ query: '芯片', topK: 3, groups: null, mode: 'bm25' })).degraded.join()).toMatch(/FTS5 answers/);
  });

  it('`kb eval retrieval` measures the configured k1/b (it builds the engine; FTS5 would be degraded) and says which', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-beir-k1b-'));
    try {
      const lines = (xs: object[]) => xs.map((x) => JSON.stringify(x)).join('\n');
      fs.writeFileSync(path.join(dir, 'corpus.jsonl'), lines([
        { id: 'p1', title: 'Solar', text: 'Solar panels convert sunlight into electricity.' },
        { id: 'p2', title: 'Wind', text: 'Wind turbines turn wind into electricity, wind after wind.' },
        { id: 'p3', title: '长城', text: '长城是中国古代的军事防御工程。' },
      ]));
      fs.writeFileSync(path.join(dir, 'queries.jsonl'), lines([
        { id: 'q1', text: 'solar panels' },
        { id: 'q2', text: 'wind turbines' },
        { id: 'q3', text: '长城' },
      ]));
      fs.writeFileSync(path.join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\n');
      const config = loadConfig({ env: { KB_RETRIEVAL__BM25__K1: '2', KB_RETRIEVAL__BM25__B: '0.3' } });
      const res = await evaluateRetrieval({ dataset: dir, mode: 'bm25', config });
      expect(res['recall@1']).toBe(1);
      expect(res.details.retriever).toMatch(/served retriever .*: bm25 k1 2, b 0.3, fusion /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

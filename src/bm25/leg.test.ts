import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { addDocs, openTestStore, type DocSpec, type TestStore } from '../../test/retrieval/kit.ts';
import { normalizeFilters, toSql } from '../retrieval/filters.ts';
import type { DocMaskSpec } from '../retrieval/catalog.ts';
import type { SearchFilters } from '../retrieval/types.ts';
import { deleteChunkTerms, matchAnyTerm, searchBm25 } from './index.ts';
import { Bm25Leg } from './leg.ts';
import { activeBm25Version, bm25Pending, listBm25Versions, syncBm25Index } from './versions.ts';

// The engine behind the leg against the exhaustive FTS5 scorer with the SQL filter of
// src/retrieval/filters.ts, on a real store: same hits, same scores, filters and ACL applied the
// same way. Plus the live-docs set, version activation and a corrupt file.

let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

const WORDS = ['芯片', '出口', '半导体', '人工智能', '市场', '电池', 'battery', 'market', 'export', 'solar', 'revenue', 'growth', 'chip', 'shanghai'];

function randomDocs(seed: number, count: number): DocSpec[] {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  return Array.from({ length: count }, (_, i) => ({
    id: `d${i}`,
    chunks: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () =>
      Array.from({ length: 1 + Math.floor(rnd() * 25) }, () => WORDS[Math.floor(WORDS.length * rnd() ** 2)]).join(' '),
    ),
    kind: pick(['news', 'comment', 'post'] as const),
    source: pick(['wire', 'forum', 'blog']),
    publishedAt: rnd() < 0.15 ? null : new Date(Date.UTC(2024, 0, 1) + Math.floor(rnd() * 365) * 86_400_000 + (i % 7) * 3_600_000).toISOString(),
    tags: ['t1', 't2', 't3'].filter(() => rnd() < 0.3),
    acl: rnd() < 0.7 ? [] : ['sales', 'exec'].filter(() => rnd() < 0.6).concat(['hr']).slice(0, 1 + Math.floor(rnd() * 2)),
  }));
}

/** FTS5 top-k with the SQL filter; ties ordered by chunk id (the engine's documented tie-break). */
function ftsTopK(db: TestStore['db'], terms: string[], k: number, spec: DocMaskSpec | null) {
  const expr = matchAnyTerm(terms);
  if (!expr) return [];
  const all = searchBm25(db, expr, 1_000_000, spec ? toSql(spec) : undefined);
  return all.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId).slice(0, k).map((h) => ({ chunkId: h.chunkId, score: h.score }));
}

function expectSameRanking(got: { chunkId: number; score: number }[], want: { chunkId: number; score: number }[]) {
  expect(got.length).toBe(want.length);
  got.forEach((h, i) => {
    expect(Math.abs(h.score - want[i].score)).toBeLessThanOrEqual(1e-6);
    // Same chunk, unless the two are tied (scores equal to rounding) — then either order is exact.
    if (h.chunkId !== want[i].chunkId) expect(Math.abs(h.score - want[i].score)).toBeLessThanOrEqual(1e-12);
  });
}

const filtersArb: fc.Arbitrary<[SearchFilters | undefined, string[] | null]> = fc.tuple(
  fc.option(
    fc.record(
      {
        kinds: fc.uniqueArray(fc.constantFrom('news' as const, 'comment' as const, 'post' as const), { maxLength: 2 }),
        from: fc.integer({ min: 0, max: 200 }).map((d) => new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10)),
        to: fc.integer({ min: 200, max: 400 }).map((d) => new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString()),
        tags: fc.uniqueArray(fc.constantFrom('t1', 't2', 't3', 'none'), { maxLength: 2 }),
        sources: fc.uniqueArray(fc.constantFrom('wire', 'forum', 'blog'), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  ),
  fc.option(fc.uniqueArray(fc.constantFrom('sales', 'exec', 'hr', 'other'), { maxLength: 2 }), { nil: null }),
);

describe('BM25 leg: engine equals FTS5 + SQL filters', () => {
  it('same hits and scores for random queries, filters and ACL scopes', () => {
    store = openTestStore();
    addDocs(store, randomDocs(11, 400));
    const built = syncBm25Index(store.db, store.dir);
    expect(built).toMatchObject({ built: true, reason: 'no_active_version', version_id: 1 });
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
    const db = store.db;
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...WORDS, 'absent'), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 60 }), filtersArb, (terms, k, [filters, groups]) => {
        const spec = normalizeFilters(filters, groups);
        const restricted = spec.groups !== null || Object.keys(spec).length > 1;
        const analysed = terms.map((t) => (/^[a-z]+$/.test(t) ? t.replace(/y$/, 'i').replace(/e$/, '') : t)); // Porter2 forms used at index time
        const want = ftsTopK(db, analysed, k, restricted ? spec : null);
        const got = leg.search(analysed, k, restricted ? spec : null);
        expect(leg.status().version).toBe(1);
        expectSameRanking(got, want);
      }),
      { numRuns: 150 },
    );
  });

  it('a removed chunk disappears at once; the next version agrees with FTS5 again', () => {
    store = openTestStore();
    addDocs(store, randomDocs(5, 200));
    syncBm25Index(store.db, store.dir);
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
    const top = leg.search(['芯片'], 5);
    expect(top).toHaveLength(5);
    store.db.transaction(() => deleteChunkTerms(store!.db, top[0].chunkId))();
    const after = leg.search(['芯片'], 5);
    expect(after.map((h) => h.chunkId)).not.toContain(top[0].chunkId);
    // Version statistics are kept until the next version: the others keep their exact scores.
    expect(after.slice(0, 4)).toEqual(top.slice(1, 5));
    expect(bm25Pending(store.db)).toEqual({ added: 0, removed: 1 });

    const v2 = syncBm25Index(store.db, store.dir);
    expect(v2).toMatchObject({ built: true, reason: 'changed', version_id: 2 });
    expectSameRanking(leg.search(['芯片'], 5), ftsTopK(store.db, ['芯片'], 5, null));
    expect(leg.status().version).toBe(2);
    // Nothing changed since: no new version.
    expect(syncBm25Index(store.db, store.dir)).toMatchObject({ built: false, version_id: 2 });
    expect(store.db.prepare('SELECT count(*) FROM bm25_removed').pluck().get()).toBe(1); // v2's predecessor still needs it... until v3
    syncBm25Index(store.db, store.dir, { force: true, keep: 1 });
    expect(store.db.prepare('SELECT count(*) FROM bm25_removed').pluck().get()).toBe(0);
    expect(listBm25Versions(store.db).map((v) => v.id)).toEqual([3]);
    expect(fs.readdirSync(path.join(store.dir, 'bm25'))).toEqual(['v3.bm25']);
  });

  it('a recurring filter (an API key’s groups) gives the same hits once materialised, and removals reach it', () => {
    store = openTestStore();
    addDocs(store, randomDocs(21, 300));
    syncBm25Index(store.db, store.dir);
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
    const db = store.db;
    const key = normalizeFilters(undefined, ['sales']);
    const dated = normalizeFilters({ kinds: ['news', 'post'], from: '2024-03-01' }, ['exec']);
    const queries = [['芯片', 'market'], ['电池'], ['export', 'solar', '市场'], ['芯片', 'market']];
    // Uses 1 (predicate), 2 (bitmap built), 3+ (bitmap reused), alternating two filters so both stay cached.
    for (const terms of [...queries, ...queries]) {
      for (const spec of [key, dated]) expectSameRanking(leg.search(terms, 15, spec), ftsTopK(db, terms, 15, spec));
    }
    const top = leg.search(['电池'], 5, key);
    expect(top.length).toBeGreaterThan(1);
    store.db.transaction(() => deleteChunkTerms(store!.db, top[0].chunkId))();
    const after = leg.search(['电池'], 5, key);
    expect(after.map((h) => h.chunkId)).not.toContain(top[0].chunkId);
    expect(after.slice(0, top.length - 1)).toEqual(top.slice(1));
    // A filter first seen after the removal builds its bitmap with the removal in it, too.
    const fresh = normalizeFilters({ sources: ['wire', 'forum', 'blog'] }, ['sales']);
    leg.search(['电池'], 5, fresh);
    expect(leg.search(['电池'], 5, fresh).map((h) => h.chunkId)).not.toContain(top[0].chunkId);
  });

  it('chunks added after the active version are not in it until the next build', () => {
    store = openTestStore();
    addDocs(store, [{ id: 'a', chunks: ['solar panel'] }]);
    syncBm25Index(store.db, store.dir);
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
    addDocs(store, [{ id: 'b', chunks: ['solar solar farm'] }]);
    expect(leg.search(['solar'], 5).map((h) => store!.docOf.get(h.chunkId))).toEqual(['a']);
    expect(bm25Pending(store.db).added).toBe(1);
    syncBm25Index(store.db, store.dir);
    expect(leg.search(['solar'], 5).map((h) => store!.docOf.get(h.chunkId))).toEqual(['b', 'a']);
  });

  it('answers from FTS5 without a version, and ignores an unknown filter value', () => {
    store = openTestStore();
    addDocs(store, randomDocs(3, 50));
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
    expect(leg.status()).toEqual({ version: null, docs: 0, error: null, params: { k1: 1.2, b: 0.75 }, params_issue: null });
    expectSameRanking(leg.search(['市场'], 7), ftsTopK(store.db, ['市场'], 7, null));
    syncBm25Index(store.db, store.dir);
    const spec = normalizeFilters({ sources: ['nowhere'] }, null);
    expect(leg.search(['市场'], 7, spec)).toEqual([]);
    expect(leg.search([], 7)).toEqual([]);
    expect(() => leg.search(['市场'], -1)).toThrow(/k must be/);
  });
});

describe('BM25 leg: background loading (servers)', () => {
  it('loads a small new version at once (an upload is searchable by the next question)', () => {
    store = openTestStore();
    addDocs(store, randomDocs(25, 100));
    syncBm25Index(store.db, store.dir);
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0, background: true });
    leg.reload();
    addDocs(store, [{ id: 'upload-1', chunks: ['zeppelin zeppelin market'] }]);
    syncBm25Index(store.db, store.dir);
    expect(leg.search(['zeppelin'], 3).length).toBe(1);
    expect(leg.status().version).toBe(2);
  });

  it('keeps answering from the version in use while a new one loads, then switches to it', async () => {
    store = openTestStore();
    addDocs(store, randomDocs(21, 150));
    syncBm25Index(store.db, store.dir);
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0, background: true, backgroundMinBytes: 0 });
    leg.reload(); // the first version loads at once
    expect(leg.status().version).toBe(1);
    const before = leg.search(['芯片', 'market'], 8);
    addDocs(store, randomDocs(22, 40).map((d) => ({ ...d, id: `new-${d.id}` })));
    expect(syncBm25Index(store.db, store.dir)).toMatchObject({ built: true, version_id: 2 });
    // The search that notices version 2 starts its load and is answered from version 1.
    expect(leg.search(['芯片', 'market'], 8)).toEqual(before);
    expect(leg.status().version).toBe(1);
    await leg.settled();
    expectSameRanking(leg.search(['芯片', 'market'], 8), ftsTopK(store.db, ['芯片', 'market'], 8, null));
    expect(leg.status()).toMatchObject({ version: 2, error: null });
  });

  it('a corrupt new version is never used: FTS5 answers (same results), the next version loads', async () => {
    store = openTestStore();
    addDocs(store, randomDocs(23, 120));
    syncBm25Index(store.db, store.dir);
    const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0, background: true, backgroundMinBytes: 0 });
    leg.reload();
    addDocs(store, randomDocs(24, 30).map((d) => ({ ...d, id: `new-${d.id}` })));
    syncBm25Index(store.db, store.dir);
    const v2 = activeBm25Version(store.db)!;
    const file = path.join(store.dir, v2.file);
    const buf = fs.readFileSync(file);
    buf[Math.floor(buf.length / 2)] ^= 0xff;
    fs.writeFileSync(file, buf);
    leg.search(['电池'], 5);
    await leg.settled();
    expect(leg.status()).toMatchObject({ version: null, error: { version: 2 } });
    expect(leg.status().error?.message).toMatch(/checksum mismatch/);
    expectSameRanking(leg.search(['电池', 'batteri'], 10), ftsTopK(store.db, ['电池', 'batteri'], 10, null));
    syncBm25Index(store.db, store.dir, { force: true });
    leg.search(['电池'], 5); // no version in use: the next one loads at once
    expect(leg.status()).toMatchObject({ version: 3, error: null });
  });
});

describe('BM25 leg: a corrupt or missing file is never used', () => {
  for (const damage of ['flip', 'truncate', 'delete'] as const) {
    it(`${damage}: falls back to FTS5 with the same results, no crash`, () => {
      store = openTestStore();
      addDocs(store, randomDocs(9, 120));
      syncBm25Index(store.db, store.dir);
      const v = activeBm25Version(store.db)!;
      const file = path.join(store.dir, v.file);
      if (damage === 'flip') {
        const buf = fs.readFileSync(file);
        for (const at of [100, Math.floor(buf.length / 2)]) buf[at] ^= 0xff;
        fs.writeFileSync(file, buf);
      } else if (damage === 'truncate') {
        fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      } else {
        fs.rmSync(file);
      }
      const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
      const hits = leg.search(['电池', 'batteri'], 10);
      expect(leg.status().version).toBeNull();
      expect(leg.status().error?.message).toMatch(damage === 'flip' ? /checksum mismatch/ : damage === 'truncate' ? /checksum mismatch/ : /ENOENT/);
      expectSameRanking(hits, ftsTopK(store.db, ['电池', 'batteri'], 10, null));
      // The next build notices the unusable file (size check) and replaces it.
      if (damage !== 'flip') expect(syncBm25Index(store.db, store.dir)).toMatchObject({ built: true, reason: 'active_file_unreadable' });
      else expect(syncBm25Index(store.db, store.dir, { force: true }).built).toBe(true);
      expectSameRanking(leg.search(['电池', 'batteri'], 10), hits);
      expect(leg.status()).toMatchObject({ version: 2, error: null });
    });
  }
});

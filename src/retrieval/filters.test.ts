import { afterEach, describe, expect, it } from 'vitest';
import { addDocs, openTestStore, type DocSpec, type TestStore } from '../../test/retrieval/kit.ts';
import { ChunkCatalog } from './catalog.ts';
import { compileFilter, FilterError, normalizeFilters, planDenseFilter } from './filters.ts';
import type { SearchFilters } from './types.ts';

let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

describe('normalizeFilters', () => {
  it('expands date-only bounds to whole UTC days and drops empty lists', () => {
    const s = normalizeFilters({ from: '2024-03-01', to: '2024-03-31', kinds: [], tags: ['a', 'a'] }, null);
    expect(s.fromMs).toBe(Date.UTC(2024, 2, 1));
    expect(s.toMs).toBe(Date.UTC(2024, 2, 31, 23, 59, 59, 999));
    expect(s.kinds).toBeUndefined();
    expect(s.tags).toEqual(['a']);
    expect(normalizeFilters({ from: '2024-03-01T12:00:00+02:00' }, ['g']).fromMs).toBe(Date.UTC(2024, 2, 1, 10));
  });

  it('rejects invalid values, naming the key', () => {
    expect(() => normalizeFilters({ from: 'last week' }, null)).toThrow(/filters\.from/);
    expect(() => normalizeFilters({ from: '2024-02-01', to: '2024-01-01' }, null)).toThrow(/after filters\.to/);
    expect(() => normalizeFilters({ kinds: ['blog' as never] }, null)).toThrow(FilterError);
    expect(() => normalizeFilters({ tags: 'x' as never }, null)).toThrow(/filters\.tags must be an array/);
  });

  it('takes the fast path only for an unrestricted caller without filters', () => {
    expect(compileFilter(undefined, null)).toMatchObject({ restricted: false, sql: null });
    expect(compileFilter({ tags: [] }, null).restricted).toBe(false);
    expect(compileFilter(undefined, []).restricted).toBe(true);
    expect(compileFilter({ sources: ['s'] }, null).restricted).toBe(true);
  });
});

describe('catalog and SQL agree', () => {
  // A deterministic pseudo-random corpus covering every filter dimension.
  function corpus(): DocSpec[] {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    return Array.from({ length: 120 }, (_, i) => ({
      id: `doc${i}`,
      chunks: Array.from({ length: 1 + (i % 3) }, (_, j) => `text ${i} part ${j}`),
      kind: pick(['news', 'comment', 'post'] as const),
      source: pick(['wire', 'forum', 'blog']),
      publishedAt: rnd() < 0.15 ? null : new Date(Date.UTC(2024, 0, 1) + Math.floor(rnd() * 365) * 86_400_000 + (i % 5) * 3_600_000).toISOString(),
      tags: ['t1', 't2', 't3', 't4'].filter(() => rnd() < 0.3),
      acl: ['g1', 'g2', 'g3'].filter(() => rnd() < 0.25),
    }));
  }

  const cases: Array<[SearchFilters | undefined, string[] | null]> = [
    [{ kinds: ['news'] }, null],
    [{ kinds: ['news', 'post'], sources: ['wire'] }, null],
    [{ from: '2024-03-01', to: '2024-06-30' }, null],
    [{ from: '2024-05-01T00:00:00.000Z' }, ['g1']],
    [{ tags: ['t1', 't4'] }, null],
    [undefined, []],
    [undefined, ['g2']],
    [{ tags: ['t2'], kinds: ['comment'] }, ['g1', 'g3']],
    [{ sources: ['nope'] }, null],
    [{ tags: ['unknown-tag'] }, ['g1']],
  ];

  it.each(cases)('filters %j with groups %j', (filters, groups) => {
    store = openTestStore();
    const docs = corpus();
    addDocs(store, docs);
    const catalog = new ChunkCatalog(store.db);
    catalog.refresh();
    const compiled = compileFilter(filters, groups);
    const fromSql = new Set(
      (store.db.prepare(`SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE ${compiled.sql!.sql}`).pluck().all(...compiled.sql!.params) as number[]),
    );
    const mask = catalog.documentMask(compiled.spec);
    const predicate = catalog.predicate(mask);
    const fromCatalog = new Set([...store.docOf.keys()].filter((id) => predicate(id)));
    expect([...fromCatalog].sort()).toEqual([...fromSql].sort());
    // Cross-check against the rules written out by hand.
    const expected = new Set<number>();
    const spec = compiled.spec;
    for (const d of docs) {
      const p = d.publishedAt ? Date.parse(d.publishedAt) : NaN;
      const ok =
        (!spec.kinds || spec.kinds.includes(d.kind!)) &&
        (!spec.sources || spec.sources.includes(d.source!)) &&
        (!spec.tags || d.tags!.some((t) => spec.tags!.includes(t))) &&
        (spec.fromMs === undefined || p >= spec.fromMs) &&
        (spec.toMs === undefined || p <= spec.toMs) &&
        (spec.groups === null || d.acl!.length === 0 || d.acl!.some((g) => spec.groups!.includes(g)));
      if (ok) for (const c of store.chunks.get(d.id)!) expected.add(c);
    }
    expect([...fromSql].sort()).toEqual([...expected].sort());
  });
});

describe('ChunkCatalog', () => {
  it('excludes retired chunks and deleted documents, and refreshes when a run finishes', () => {
    store = openTestStore();
    addDocs(store, [
      { id: 'a', chunks: ['one', 'two'] },
      { id: 'b', chunks: ['three'] },
    ]);
    const [a1, a2] = store.chunks.get('a')!;
    const [b1] = store.chunks.get('b')!;
    const catalog = new ChunkCatalog(store.db);
    expect(catalog.refreshIfStale()).toBe(true);
    expect(catalog.refreshIfStale()).toBe(false);
    expect(catalog.size).toBe(3);
    store.db.prepare(`UPDATE chunks SET retired_at = 'x' WHERE id = ?`).run(a2);
    store.db.prepare(`UPDATE documents SET deleted_at = 'x' WHERE external_id = 'b'`).run();
    store.db.prepare(`INSERT INTO ingest_runs (started_at, finished_at, status) VALUES ('t0', 't1', 'succeeded')`).run();
    expect(catalog.refreshIfStale()).toBe(true);
    expect(catalog.size).toBe(1);
    expect([a1, a2, b1].map((id) => catalog.isLive(id))).toEqual([true, false, false]);
    expect(catalog.isLive(999_999)).toBe(false);
  });

  it('plans exact search for small allowed sets only', () => {
    store = openTestStore();
    addDocs(store, Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, chunks: [`x ${i}`], tags: i < 3 ? ['few'] : [] })));
    store.db.prepare('UPDATE chunks SET vector_label = id').run(); // as if all were in the active index
    const catalog = new ChunkCatalog(store.db);
    catalog.refresh();
    const few = compileFilter({ tags: ['few'] }, null);
    const all = compileFilter(undefined, []);
    expect(planDenseFilter(catalog, few, { maxFraction: 0, maxChunks: 5 })).toMatchObject({ allowed: 3, exactIds: store.chunks.get('d0')!.concat(store.chunks.get('d1')!, store.chunks.get('d2')!) });
    expect(planDenseFilter(catalog, all, { maxFraction: 0, maxChunks: 5 })).toMatchObject({ allowed: 50, exactIds: null });
    expect(planDenseFilter(catalog, all, { maxFraction: 1, maxChunks: 0 }).exactIds).toHaveLength(50);
  });
});

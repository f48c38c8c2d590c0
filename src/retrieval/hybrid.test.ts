import { afterEach, describe, expect, it } from 'vitest';
import { addDocs, BagOfWordsEmbedder, indexAll, MissingModelEmbedder, openTestStore, retrievalConfig, type DocSpec, type TestStore } from '../../test/retrieval/kit.ts';
import type { DenseIndexReader } from '../vector/reader.ts';
import { Bm25Leg } from '../bm25/leg.ts';
import { syncBm25Index } from '../bm25/versions.ts';
import { FilterError } from './filters.ts';
import { createHybridRetriever, RetrievalRequestError } from './hybrid.ts';
import type { RetrievalHit } from './types.ts';

const MODES = ['hybrid', 'dense', 'bm25'] as const;
let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

const ids = (hits: RetrievalHit[]) => hits.map((h) => h.externalId);

/** The BM25 engine over a version built from the store now. */
function engineLeg(s: TestStore): Bm25Leg {
  syncBm25Index(s.db, s.dir);
  const leg = new Bm25Leg({ db: s.db, dataDir: s.dir, reloadIntervalMs: 0 });
  leg.reload();
  expect(leg.status().version).not.toBeNull();
  return leg;
}

/** Wraps a reader to record whether each search carried a label filter. */
function spy(reader: DenseIndexReader) {
  const calls: boolean[] = [];
  return {
    calls,
    reader: {
      search: (v: Float32Array | readonly number[], k: number, f?: (label: number) => boolean) => {
        calls.push(f !== undefined);
        return reader.search(v, k, f);
      },
      status: () => reader.status(),
    },
  };
}

describe('filters inside both legs', () => {
  // 40 strong matches for "widget" and 6 weak ones tagged "rare": with 10 candidates per leg, a
  // post-filter over the unfiltered top 10 would find no "rare" document at all.
  const common: DocSpec[] = Array.from({ length: 40 }, (_, i) => ({ id: `c${i}`, chunks: [`widget widget widget report c${i}`], tags: ['common'] }));
  const rare: DocSpec[] = Array.from({ length: 6 }, (_, i) => ({
    id: `r${i}`,
    chunks: [`widget mentioned once among lots of other unrelated filler words about gardens rivers mountains r${i}`],
    tags: ['rare'],
    source: 'archive',
  }));

  async function setup(exact: { max_fraction: number; max_chunks: number }, engine = false) {
    store = openTestStore();
    addDocs(store, [...common, ...rare]);
    const embedder = new BagOfWordsEmbedder();
    const s = spy(await indexAll(store, embedder));
    const retriever = createHybridRetriever({
      db: store.db,
      dense: s.reader,
      embedder,
      config: retrievalConfig({ candidates: 10, exact_search: exact }),
      bm25: engine ? engineLeg(store) : undefined,
    });
    return { retriever, calls: s.calls };
  }

  it('the BM25 engine leg applies a selective filter inside its traversal too', async () => {
    const { retriever } = await setup({ max_fraction: 0.02, max_chunks: 5000 }, true);
    const res = await retriever.retrieve({ query: 'widget', topK: 5, groups: null, mode: 'bm25', filters: { tags: ['rare'] } });
    expect(res.degraded).toEqual([]);
    expect(res.hits).toHaveLength(5);
    expect(res.hits.every((h) => h.tags.includes('rare') && h.score.bm25 !== null)).toBe(true);
  });

  it('a selective filter still returns k matches in every mode (exact dense path)', async () => {
    const { retriever, calls } = await setup({ max_fraction: 0.02, max_chunks: 5000 });
    for (const mode of ['dense', 'bm25'] as const) {
      const unfiltered = await retriever.retrieve({ query: 'widget', topK: 10, groups: null, mode });
      expect(ids(unfiltered.hits).some((id) => id.startsWith('r'))).toBe(false);
    }
    for (const mode of MODES) {
      const res = await retriever.retrieve({ query: 'widget', topK: 5, groups: null, mode, filters: { tags: ['rare'] } });
      expect(res.degraded).toEqual([]);
      expect(res.hits).toHaveLength(5);
      expect(res.hits.every((h) => h.tags.includes('rare'))).toBe(true);
      if (mode === 'dense') expect(res.hits.every((h) => h.score.dense !== null && h.score.bm25 === null)).toBe(true);
      if (mode === 'bm25') expect(res.hits.every((h) => h.score.bm25 !== null && h.score.dense === null)).toBe(true);
    }
    // The unfiltered dense search used the index without a predicate; filtered ones never touched
    // it (exact search over the 6 allowed chunks).
    expect(calls).toEqual([false]);
  });

  it('a selective filter still returns k matches through the filtered HNSW walk', async () => {
    const { retriever, calls } = await setup({ max_fraction: 0, max_chunks: 0 });
    const res = await retriever.retrieve({ query: 'widget', topK: 5, groups: null, mode: 'dense', filters: { sources: ['archive'] } });
    expect(res.hits).toHaveLength(5);
    expect(res.hits.every((h) => h.source === 'archive')).toBe(true);
    expect(calls).toEqual([true]);
  });

  it('a broad filter post-filters an unfiltered walk; when too few allowed hits survive, the filtered walk decides', async () => {
    store = openTestStore();
    const group = (tag: string, word: string) =>
      Array.from({ length: 100 }, (_, i): DocSpec => ({ id: `${tag}${i}`, chunks: [`${word} ${word} item ${tag}${i}`], tags: [tag] }));
    addDocs(store, [...group('a', 'alpha'), ...group('b', 'beta')]);
    const embedder = new BagOfWordsEmbedder();
    const s = spy(await indexAll(store, embedder));
    const retriever = createHybridRetriever({ db: store.db, dense: s.reader, embedder, config: retrievalConfig({ candidates: 10, exact_search: { max_fraction: 0, max_chunks: 0 } }) });
    // Half the corpus allowed, and it is the query's neighbourhood: the unfiltered walk suffices.
    const near = await retriever.retrieve({ query: 'alpha', topK: 10, groups: null, mode: 'dense', filters: { tags: ['a'] } });
    expect(near.hits).toHaveLength(10);
    expect(near.hits.every((h) => h.tags.includes('a'))).toBe(true);
    expect(s.calls).toEqual([false]);
    // Half allowed, but none of it near the query: the post-filter keeps nothing → filtered walk.
    const far = await retriever.retrieve({ query: 'alpha', topK: 10, groups: null, mode: 'dense', filters: { tags: ['b'] } });
    expect(far.hits).toHaveLength(10);
    expect(far.hits.every((h) => h.tags.includes('b'))).toBe(true);
    expect(s.calls).toEqual([false, false, true]);
  });

  it('combines filters with AND and returns nothing when nothing matches', async () => {
    const { retriever } = await setup({ max_fraction: 0.02, max_chunks: 5000 });
    for (const mode of MODES) {
      const none = await retriever.retrieve({ query: 'widget', topK: 5, groups: null, mode, filters: { tags: ['rare'], sources: ['test'] } });
      expect(none.hits).toEqual([]);
      const kinds = await retriever.retrieve({ query: 'widget', topK: 5, groups: null, mode, filters: { kinds: ['news'] } });
      expect(kinds.hits).toEqual([]);
    }
  });
});

describe('ACL', () => {
  const docs: DocSpec[] = [
    { id: 'x1', chunks: ['secret merger plan secret merger plan'], acl: ['x'] },
    { id: 'x2', chunks: ['secret merger plan details'], acl: ['x', 'z'] },
    { id: 'y1', chunks: ['merger plan for the y team'], acl: ['y'] },
    { id: 'pub1', chunks: ['public note that mentions a merger'] },
    { id: 'pub2', chunks: ['public plan overview'] },
  ];

  it('a caller never sees a chunk of a group it lacks, in any mode', async () => {
    store = openTestStore();
    addDocs(store, docs);
    const embedder = new BagOfWordsEmbedder();
    const dense = await indexAll(store, embedder);
    // Exact path off, so the HNSW predicate is exercised too.
    const legs = [undefined, engineLeg(store)]; // FTS5 and the engine: the same ACL
    for (const [exact, bm25] of [{ max_fraction: 0.02, max_chunks: 5000 }, { max_fraction: 0, max_chunks: 0 }].flatMap((e) => legs.map((l) => [e, l] as const))) {
      const retriever = createHybridRetriever({ db: store.db, dense, embedder, bm25, config: retrievalConfig({ exact_search: exact, max_chunks_per_doc: 0 }) });
      for (const mode of MODES) {
        const q = { query: 'secret merger plan', topK: 10, mode };
        const asY = ids((await retriever.retrieve({ ...q, groups: ['y'] })).hits);
        expect(asY.sort()).toEqual(['pub1', 'pub2', 'y1']);
        const asNobody = ids((await retriever.retrieve({ ...q, groups: [] })).hits);
        expect(asNobody.sort()).toEqual(['pub1', 'pub2']);
        const asZ = ids((await retriever.retrieve({ ...q, groups: ['z'] })).hits);
        expect(asZ.sort()).toEqual(['pub1', 'pub2', 'x2']);
        const asX = (await retriever.retrieve({ ...q, groups: ['x'] })).hits;
        expect(asX[0].externalId).toBe('x1');
        expect(ids(asX)).not.toContain('y1');
        const all = ids((await retriever.retrieve({ ...q, groups: null })).hits);
        expect(all.sort()).toEqual(['pub1', 'pub2', 'x1', 'x2', 'y1']);
      }
    }
  });
});

describe('re-ranking through the retriever', () => {
  const NOW = Date.UTC(2025, 5, 1);
  const day = (n: number) => new Date(NOW - n * 86_400_000).toISOString();

  it('recency lifts the newer of two equal news matches for time-sensitive questions only, not other kinds', async () => {
    store = openTestStore();
    addDocs(store, [
      // The old one matches slightly better, so it leads without the recency preference.
      { id: 'old-news', kind: 'news', publishedAt: day(720), chunks: ['central bank rate decision rate'] },
      { id: 'new-news', kind: 'news', publishedAt: day(5), chunks: ['central bank rate decision'] },
      { id: 'old-post', kind: 'post', publishedAt: day(720), chunks: ['harbour bridge toll increase toll'] },
      { id: 'new-post', kind: 'post', publishedAt: day(5), chunks: ['harbour bridge toll increase'] },
    ]);
    const embedder = new BagOfWordsEmbedder();
    const dense = await indexAll(store, embedder);
    const make = (enabled: boolean, apply: 'time_sensitive' | 'always' = 'time_sensitive') =>
      createHybridRetriever({ db: store!.db, dense, embedder, now: () => NOW, config: retrievalConfig({ recency: { enabled, kinds: ['news'], half_life_days: 180, weight: 0.3, apply }, mmr: { enabled: false, lambda: 0.7 } }) });
    const news = await make(true).retrieve({ query: 'latest central bank rate', topK: 2, groups: null });
    expect(ids(news.hits)).toEqual(['new-news', 'old-news']);
    expect(news.ranking?.recency).toBe('applied');
    expect(news.hits[1].score.recency).toBeCloseTo(0.7 + 0.3 * Math.pow(2, -4), 9);
    expect(news.hits[0].score.fused).toBeCloseTo(news.hits[0].score.rrf * news.hits[0].score.recency, 12);
    expect(news.hits[0].score.moves).toEqual([{ stage: 'recency', from: 2, to: 1 }]);
    // Not about time: the better match stays first, and the result says why recency did not apply.
    const plain = await make(true).retrieve({ query: 'central bank rate', topK: 2, groups: null });
    expect(ids(plain.hits)).toEqual(['old-news', 'new-news']);
    expect(plain.ranking?.recency).toBe('not time-sensitive');
    expect(plain.hits.every((h) => h.score.recency === 1 && h.score.moves?.length === 0)).toBe(true);
    expect(ids((await make(true, 'always').retrieve({ query: 'central bank rate', topK: 2, groups: null })).hits)).toEqual(['new-news', 'old-news']);
    expect(ids((await make(false).retrieve({ query: 'latest central bank rate', topK: 2, groups: null })).hits)).toEqual(['old-news', 'new-news']);
    const posts = await make(true).retrieve({ query: 'latest harbour bridge toll', topK: 2, groups: null });
    expect(ids(posts.hits)).toEqual(['old-post', 'new-post']);
    expect(posts.hits.every((h) => h.score.recency === 1)).toBe(true);
  });

  it('an exact title query ranks its document first, above newer and near-duplicate chunks', async () => {
    store = openTestStore();
    const title = '锐驰无人机牵手华科智能，共建工业无人机联合方案';
    addDocs(store, [
      // The article itself: old news. Comments and posts repeat the title words more often.
      { id: 'news-8', kind: 'news', title, publishedAt: day(400), chunks: ['锐驰无人机与华科智能签署合作协议，双方将共建工业无人机联合方案，面向巡检场景。'] },
      ...Array.from({ length: 12 }, (_, i) => ({
        id: `c${i}`,
        kind: 'comment' as const,
        title: `评论 ${i}`,
        publishedAt: day(1),
        chunks: [`锐驰无人机 华科智能 工业无人机 联合方案 共建 牵手 无人机 无人机 看好 ${i}`],
      })),
      ...Array.from({ length: 4 }, (_, i) => ({ id: `n${i}`, kind: 'news' as const, title: `华科智能新闻 ${i}`, publishedAt: day(2), chunks: [`华科智能 工业无人机 联合方案 锐驰 共建 ${i}`] })),
    ]);
    const retriever = createHybridRetriever({ db: store.db, dense: null, embedder: null, now: () => NOW, config: retrievalConfig({ recency: { enabled: true, kinds: ['news'], half_life_days: 180, weight: 0.3, apply: 'always' } }) });
    const res = await retriever.retrieve({ query: title, topK: 10, groups: null, mode: 'bm25' });
    expect(res.hits[0].externalId).toBe('news-8');
    expect(res.hits[0].score.exact).toBe('title');
    // When it was not already first, the breakdown names the stage that put it there.
    const moved = res.hits[0].score.moves ?? [];
    if (res.hits[0].score.rrfRank !== 1) expect(moved.at(-1)).toMatchObject({ stage: 'exact', to: 1 });
    // With the exact-match stage off, recency (forced on here) buries it: the stage is what holds it up.
    const off = createHybridRetriever({ db: store.db, dense: null, embedder: null, now: () => NOW, config: retrievalConfig({ recency: { enabled: true, kinds: ['news'], half_life_days: 180, weight: 0.3, apply: 'always' }, exact_match: { enabled: false, min_phrase_chars: 8 } }) });
    const offRes = await off.retrieve({ query: title, topK: 10, groups: null, mode: 'bm25' });
    expect(offRes.hits.findIndex((h) => h.externalId === 'news-8')).toBeGreaterThan(0);
  });

  it('MMR moves a near-identical hit below a different one', async () => {
    store = openTestStore();
    addDocs(store, [
      { id: 'a1', chunks: ['apple orchard harvest season report'] },
      { id: 'a2', chunks: ['apple orchard harvest season report today'] },
      { id: 'b', chunks: ['apple pie recipe with cinnamon'] },
    ]);
    const embedder = new BagOfWordsEmbedder();
    const dense = await indexAll(store, embedder);
    const make = (enabled: boolean, withDense: boolean) =>
      createHybridRetriever({ db: store!.db, dense: withDense ? dense : null, embedder: withDense ? embedder : null, config: retrievalConfig({ mmr: { enabled, lambda: 0.7 } }) });
    const q = { query: 'apple orchard harvest', topK: 3, groups: null } as const;
    expect(ids((await make(false, true).retrieve(q)).hits)).toEqual(['a1', 'a2', 'b']);
    expect(ids((await make(true, true).retrieve(q)).hits)).toEqual(['a1', 'b', 'a2']); // cosine of cached vectors
    expect(ids((await make(true, false).retrieve({ ...q, mode: 'bm25' })).hits)).toEqual(['a1', 'b', 'a2']); // text Jaccard
  });

  it('caps chunks per document', async () => {
    store = openTestStore();
    addDocs(store, [
      { id: 'big', chunks: ['quantum computing qubits', 'quantum computing error correction', 'quantum computing hardware', 'quantum computing cloud'] },
      { id: 's1', chunks: ['quantum physics lecture notes'] },
      { id: 's2', chunks: ['computing history museum'] },
    ]);
    const embedder = new BagOfWordsEmbedder();
    const dense = await indexAll(store, embedder);
    const make = (cap: number) =>
      createHybridRetriever({ db: store!.db, dense, embedder, config: retrievalConfig({ max_chunks_per_doc: cap, mmr: { enabled: false, lambda: 0.7 } }) });
    const capped = await make(2).retrieve({ query: 'quantum computing', topK: 4, groups: null });
    expect(ids(capped.hits).filter((d) => d === 'big')).toHaveLength(2);
    expect(ids(capped.hits).sort()).toEqual(['big', 'big', 's1', 's2']);
    const uncapped = await make(0).retrieve({ query: 'quantum computing', topK: 4, groups: null });
    expect(ids(uncapped.hits)).toEqual(['big', 'big', 'big', 'big']);
  });
});

describe('fusion method (retrieval.fusion)', () => {
  const docs: DocSpec[] = [
    { id: 'exact', chunks: ['solar panel efficiency record set by lab'] },
    { id: 'near', chunks: ['solar panel cleaning robots for efficiency'] },
    { id: 'wind', chunks: ['wind turbine efficiency and maintenance'] },
    { id: 'panel', chunks: ['panel discussion on energy policy'] },
    { id: 'other', chunks: ['river fishing licence fees'] },
  ];
  async function setup() {
    store = openTestStore();
    addDocs(store, docs);
    const embedder = new BagOfWordsEmbedder();
    const dense = await indexAll(store, embedder);
    const make = (fusion: 'rrf' | 'convex' | undefined, alpha?: number) =>
      createHybridRetriever({
        db: store!.db,
        dense,
        embedder,
        // Exact-match and MMR off: these tests look at the fused order itself.
        config: retrievalConfig({ fusion, convex: alpha === undefined ? undefined : { alpha }, mmr: { enabled: false, lambda: 0.7 }, exact_match: { enabled: false, min_phrase_chars: 8 } }),
      });
    return make;
  }

  it('convex: the breakdown names the fusion and each leg\'s normalised part, which add up to the fused score', async () => {
    const make = await setup();
    const res = await make('convex', 0.3).retrieve({ query: 'solar panel efficiency', topK: 5, groups: null });
    expect(res.hits.length).toBeGreaterThan(2);
    for (const h of res.hits) {
      const f = h.score.fusion!;
      expect(f.method).toBe('convex');
      expect(h.score.rrf).toBeCloseTo(f.dense + f.bm25, 12);
      expect(f.dense).toBeLessThanOrEqual(0.3 + 1e-12);
      expect(f.bm25).toBeLessThanOrEqual(0.7 + 1e-12);
      if (h.score.bm25 === null) expect(f.bm25).toBe(0);
      if (h.score.dense === null) expect(f.dense).toBe(0);
    }
    expect(res.hits.map((h) => h.score.rrf)).toEqual([...res.hits.map((h) => h.score.rrf)].sort((a, b) => b - a));
    // A hit at the top of both legs gets the full weight of each.
    const top = res.hits[0].score;
    if (top.dense?.rank === 1 && top.bm25?.rank === 1) expect(top.rrf).toBeCloseTo(1, 12);
    expect(top.rrf).toBeLessThanOrEqual(1 + 1e-12);
    // Without the keys: the documented default (convex, alpha 0.7).
    const dflt = await make(undefined).retrieve({ query: 'solar panel efficiency', topK: 5, groups: null });
    expect(dflt.hits[0].score.fusion).toMatchObject({ method: 'convex' });
    expect(dflt.hits.every((h) => h.score.fusion!.dense <= 0.7 + 1e-12 && h.score.fusion!.bm25 <= 0.3 + 1e-12)).toBe(true);
    // Rank fusion, and its breakdown.
    const rrf = await make('rrf').retrieve({ query: 'solar panel efficiency', topK: 5, groups: null });
    expect(rrf.hits[0].score.fusion).toMatchObject({ method: 'rrf' });
    const r0 = rrf.hits[0].score;
    expect(r0.rrf).toBeCloseTo(1 / (60 + (r0.dense?.rank ?? Infinity)) + 1 / (60 + (r0.bm25?.rank ?? Infinity)), 12);
    expect(r0.fusion!.dense + r0.fusion!.bm25).toBeCloseTo(r0.rrf, 15);
  });

  it('alpha moves the hybrid order between the two legs\' orders', async () => {
    const make = await setup();
    const q = { query: 'solar panel efficiency', topK: 5, groups: null } as const;
    const legOrder = async (mode: 'bm25' | 'dense') => ids((await make('convex', 0.5).retrieve({ ...q, mode })).hits);
    expect(ids((await make('convex', 0).retrieve(q)).hits).slice(0, 4)).toEqual((await legOrder('bm25')).slice(0, 4));
    expect(ids((await make('convex', 1).retrieve(q)).hits).slice(0, 4)).toEqual((await legOrder('dense')).slice(0, 4));
  });

  it('bm25-only and dense-only requests return the same hits under either fusion', async () => {
    const make = await setup();
    for (const mode of ['bm25', 'dense'] as const) {
      for (const query of ['solar panel efficiency', 'panel', 'wind maintenance efficiency']) {
        const a = await make('rrf').retrieve({ query, topK: 5, groups: null, mode });
        const b = await make('convex', 0.9).retrieve({ query, topK: 5, groups: null, mode });
        expect(ids(b.hits)).toEqual(ids(a.hits));
        expect(b.hits.map((h) => h.score[mode]?.rank)).toEqual(a.hits.map((h) => h.score[mode]?.rank));
      }
    }
  });

  it('a degraded dense leg leaves convex hybrid equal to bm25 mode', async () => {
    store = openTestStore();
    addDocs(store, docs);
    const dense = await indexAll(store, new BagOfWordsEmbedder());
    const retriever = createHybridRetriever({ db: store.db, dense, embedder: new MissingModelEmbedder(), config: retrievalConfig({ fusion: 'convex', convex: { alpha: 0.7 }, exact_match: { enabled: false, min_phrase_chars: 8 } }) });
    const hybrid = await retriever.retrieve({ query: 'solar panel efficiency', topK: 5, groups: null });
    const bm25 = await retriever.retrieve({ query: 'solar panel efficiency', topK: 5, groups: null, mode: 'bm25' });
    expect(hybrid.degraded[0]).toMatch(/^dense: /);
    expect(ids(hybrid.hits)).toEqual(ids(bm25.hits));
    expect(hybrid.hits[0].score.rrf).toBe(1); // the leg's normalised score alone, not (1 − alpha) × it
  });

  it('rejects an alpha outside [0, 1] in the config schema', async () => {
    const { retrievalSchema } = await import('../config/sections/retrieval.ts');
    const cfg = retrievalConfig().retrieval;
    expect(retrievalSchema.safeParse({ ...cfg, fusion: 'convex', convex: { alpha: 0.4 } }).success).toBe(true);
    expect(retrievalSchema.safeParse({ ...cfg, fusion: 'convex', convex: { alpha: 1.2 } }).success).toBe(false);
    expect(retrievalSchema.safeParse({ ...cfg, fusion: 'linear' }).success).toBe(false);
  });
});

describe('degraded and invalid requests', () => {
  const docs: DocSpec[] = [
    { id: 'd1', chunks: ['solar panel efficiency record'] },
    { id: 'd2', chunks: ['wind turbine maintenance'] },
  ];

  it('falls back to BM25 with the reason when the embedding model is unavailable', async () => {
    store = openTestStore();
    addDocs(store, docs);
    const dense = await indexAll(store, new BagOfWordsEmbedder());
    const retriever = createHybridRetriever({ db: store.db, dense, embedder: new MissingModelEmbedder(), config: retrievalConfig() });
    const res = await retriever.retrieve({ query: 'solar panel', topK: 5, groups: null });
    expect(ids(res.hits)).toEqual(['d1']);
    expect(res.hits[0].score.dense).toBeNull();
    expect(res.hits[0].score.bm25?.rank).toBe(1);
    expect(res.degraded).toHaveLength(1);
    expect(res.degraded[0]).toMatch(/^dense: embedding model unavailable: .*missing model\.onnx/);
    expect(res.timings.bm25).toBeGreaterThanOrEqual(0);
    // An explicit dense request does not switch legs behind the caller's back.
    const denseOnly = await retriever.retrieve({ query: 'solar panel', topK: 5, groups: null, mode: 'dense' });
    expect(denseOnly.hits).toEqual([]);
    expect(denseOnly.degraded[0]).toMatch(/^dense: embedding model unavailable/);
  });

  it('names a missing index, a missing embedder and a model mismatch', async () => {
    store = openTestStore();
    addDocs(store, docs);
    const embedder = new BagOfWordsEmbedder();
    const r1 = createHybridRetriever({ db: store.db, dense: null, embedder, config: retrievalConfig() });
    const res1 = await r1.retrieve({ query: 'wind turbine', topK: 5, groups: null });
    expect(res1.degraded).toEqual(['dense: no vector index is configured']);
    expect(ids(res1.hits)).toEqual(['d2']);
    const dense = await indexAll(store, embedder);
    const r2 = createHybridRetriever({ db: store.db, dense, embedder: null, config: retrievalConfig() });
    expect((await r2.retrieve({ query: 'wind turbine', topK: 5, groups: null })).degraded).toEqual(['dense: no embedding model is configured']);
    const r3 = createHybridRetriever({ db: store.db, dense, embedder: new BagOfWordsEmbedder('test:other-model'), config: retrievalConfig() });
    expect((await r3.retrieve({ query: 'wind turbine', topK: 5, groups: null })).degraded[0]).toMatch(/built with model "test:bag-of-words-64" but the query embedder is "test:other-model"/);
    const ok = await createHybridRetriever({ db: store.db, dense, embedder, config: retrievalConfig() }).retrieve({ query: 'wind turbine', topK: 5, groups: null });
    expect(ok.degraded).toEqual([]);
    expect(ok.hits[0].score.dense?.rank).toBe(1);
    expect(ok.hits[0].score.bm25?.rank).toBe(1);
    expect(Object.keys(ok.timings)).toEqual(expect.arrayContaining(['embed', 'dense', 'bm25', 'fuse', 'total']));
  });

  it('never returns retired chunks or deleted documents, even from the unfiltered dense path', async () => {
    store = openTestStore();
    addDocs(store, [...docs, { id: 'gone', chunks: ['solar panel efficiency record again'] }, { id: 'old', chunks: ['solar panel efficiency record old'] }]);
    const embedder = new BagOfWordsEmbedder();
    const dense = await indexAll(store, embedder);
    // Still in the active index file (vector_label set), but no longer retrievable.
    store.db.prepare(`UPDATE documents SET deleted_at = 'now' WHERE external_id = 'gone'`).run();
    store.db.prepare(`UPDATE chunks SET retired_at = 'now' WHERE id = ?`).run(store.chunks.get('old')![0]);
    const retriever = createHybridRetriever({ db: store.db, dense, embedder, config: retrievalConfig() });
    for (const mode of MODES) {
      for (const groups of [null, []]) {
        const res = await retriever.retrieve({ query: 'solar panel efficiency record', topK: 5, groups, mode });
        // The dense leg also returns the unrelated d2 (nearest neighbours always exist).
        expect(ids(res.hits).filter((id) => id !== 'd2')).toEqual(['d1']);
      }
    }
  });

  it('rejects bad requests with clear errors', async () => {
    store = openTestStore();
    addDocs(store, docs);
    const retriever = createHybridRetriever({ db: store.db, dense: null, embedder: null, config: retrievalConfig() });
    await expect(retriever.retrieve({ query: '  ', topK: 5, groups: null })).rejects.toThrow(RetrievalRequestError);
    await expect(retriever.retrieve({ query: 'x', topK: 0, groups: null })).rejects.toThrow(/topK/);
    await expect(retriever.retrieve({ query: 'x', topK: 5, groups: null, filters: { from: 'yesterday' } })).rejects.toThrow(FilterError);
    await expect(retriever.retrieve({ query: 'x', topK: 5, groups: null, filters: { kinds: ['tweet' as never] } })).rejects.toThrow(/unknown kind "tweet"/);
  });

  it('looks at no more than limits.max_query_terms analysed terms of a query', async () => {
    store = openTestStore();
    addDocs(store, docs);
    const query = 'alpha beta gamma delta wind turbine';
    const capped = createHybridRetriever({ db: store.db, dense: null, embedder: null, config: { ...retrievalConfig(), limits: { max_query_terms: 4 } } });
    expect(ids((await capped.retrieve({ query, topK: 5, groups: null, mode: 'bm25' })).hits)).toEqual([]);
    const roomy = createHybridRetriever({ db: store.db, dense: null, embedder: null, config: { ...retrievalConfig(), limits: { max_query_terms: 6 } } });
    expect(ids((await roomy.retrieve({ query, topK: 5, groups: null, mode: 'bm25' })).hits)).toEqual(['d2']);
  });
});

describe('the two legs side by side', () => {
  it("sends the query embedding off before the BM25 leg's query runs, so the two overlap", async () => {
    store = openTestStore();
    addDocs(store, [
      { id: 'a', chunks: ['solar battery factory opens'] },
      { id: 'b', chunks: ['battery prices fall'] },
    ]);
    const embedder = new BagOfWordsEmbedder();
    const events: string[] = [];
    // Like an HTTP client: the request leaves after a few awaits of its own (building it, the connection).
    const remote = Object.assign(Object.create(embedder) as BagOfWordsEmbedder, {
      embedQuery: async (t: string) => {
        for (let i = 0; i < 5; i++) await Promise.resolve();
        events.push('embedding request sent');
        return embedder.embedQuery(t);
      },
    });
    const reader = await indexAll(store, embedder);
    const leg = engineLeg(store);
    const search = leg.search.bind(leg);
    leg.search = (...args: Parameters<Bm25Leg['search']>) => {
      events.push('bm25 query');
      return search(...args);
    };
    const r = createHybridRetriever({ db: store.db, dense: reader, embedder: remote, config: retrievalConfig(), bm25: leg });
    const res = await r.retrieve({ query: 'battery', topK: 5, groups: null, mode: 'hybrid' });
    expect(ids(res.hits).sort()).toEqual(['a', 'b']);
    expect(res.degraded ?? []).toEqual([]);
    expect(events).toEqual(['embedding request sent', 'bm25 query']);
  });
});

describe('query-side caches', () => {
  it('embeds a repeated question once, and a new filter plan is made after the catalog reloads', async () => {
    store = openTestStore();
    addDocs(store, [
      { id: 'a', chunks: ['solar battery factory opens'], acl: ['sales'] },
      { id: 'b', chunks: ['battery prices fall'] },
    ]);
    const embedder = new BagOfWordsEmbedder();
    let calls = 0;
    const counting = Object.assign(Object.create(embedder) as BagOfWordsEmbedder, {
      embedQuery: async (t: string) => {
        calls++;
        return embedder.embedQuery(t);
      },
    });
    const reader = await indexAll(store, embedder);
    const r = createHybridRetriever({ db: store.db, dense: reader, embedder: counting, config: retrievalConfig() });
    const ask = (groups: string[] | null, mode: 'hybrid' | 'dense' = 'hybrid') => r.retrieve({ query: 'battery', topK: 5, groups, mode });
    expect(ids((await ask(['hr'], 'dense')).hits)).toEqual(['b']);
    expect(ids((await ask(['hr'], 'dense')).hits)).toEqual(['b']);
    expect(calls).toBe(1);
    expect(ids((await ask(['sales'])).hits).sort()).toEqual(['a', 'b']); // another ACL → another plan

    // A new public document: once the catalog reloads, cached plans must not hide it.
    addDocs(store, [{ id: 'c', chunks: ['battery recycling plant'] }]);
    await indexAll(store, embedder);
    await reader.maybeReload({ force: true });
    expect(ids((await ask(['hr'], 'dense')).hits).sort()).toEqual(['b', 'c']);
  });
});

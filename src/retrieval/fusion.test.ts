import { describe, expect, it } from 'vitest';
import { compareFused, convexFuse, fuse, jaccard, recencyMultiplier, rerank, rrfFuse, similarityTokens, type Candidate, type FusedScore, type LegHit } from './fusion.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 0, 1);
const recency = { enabled: true, kinds: ['news' as const], halfLifeDays: 180, weight: 0.3 };
const noRecency = { ...recency, enabled: false };

function cand(chunkId: number, rrf: number, extra: Partial<Candidate> = {}): Candidate {
  return {
    chunkId,
    docId: chunkId,
    kind: 'post',
    publishedMs: null,
    text: `unique text number ${chunkId} alpha${chunkId} beta${chunkId}`,
    fused: { dense: null, bm25: { rank: 1, score: 1 }, method: 'rrf', score: rrf, parts: { dense: 0, bm25: rrf } },
    ...extra,
  };
}

describe('rrfFuse', () => {
  it('sums weighted reciprocal ranks over both legs and records each leg', () => {
    const fused = rrfFuse(
      {
        dense: [{ chunkId: 1, score: 0.9 }, { chunkId: 2, score: 0.8 }],
        bm25: [{ chunkId: 2, score: 12 }, { chunkId: 3, score: 5 }],
      },
      { dense: 1, bm25: 0.5 },
      60,
    );
    expect(fused.get(1)).toEqual({ dense: { rank: 1, score: 0.9 }, bm25: null, method: 'rrf', score: 1 / 61, parts: { dense: 1 / 61, bm25: 0 } });
    expect(fused.get(2)!.score).toBeCloseTo(1 / 62 + 0.5 / 61, 15);
    expect(fused.get(2)!.bm25).toEqual({ rank: 1, score: 12 });
    expect(fused.get(3)!.score).toBeCloseTo(0.5 / 62, 15);
  });

  it('handles a missing leg and counts a repeated chunk once', () => {
    const fused = rrfFuse({ dense: null, bm25: [{ chunkId: 7, score: 3 }, { chunkId: 7, score: 2 }, { chunkId: 8, score: 1 }] }, { dense: 1, bm25: 1 }, 10);
    expect(fused.get(7)!.score).toBeCloseTo(1 / 11, 15);
    expect(fused.get(8)!.bm25!.rank).toBe(2);
  });
});

const hits = (...xs: Array<[number, number]>): LegHit[] => xs.map(([chunkId, score]) => ({ chunkId, score }));
/** Chunk ids in fused order (the order rerank() starts from). */
const order = (m: Map<number, FusedScore>) => [...m].map(([chunkId, fused]) => ({ chunkId, fused })).sort(compareFused).map((c) => c.chunkId);

describe('convexFuse', () => {
  it('combines theoretical-min-max normalised scores: alpha × dense + (1 − alpha) × bm25', () => {
    // dense top 0.8 → norm(s) = (s + 1) / 1.8; bm25 top 20 → norm(s) = s / 20.
    const fused = convexFuse({ dense: hits([1, 0.8], [2, 0.35]), bm25: hits([2, 20], [3, 10]) }, 0.25);
    expect(fused.get(1)).toEqual({ dense: { rank: 1, score: 0.8 }, bm25: null, method: 'convex', score: 0.25, parts: { dense: 0.25, bm25: 0 } });
    const two = fused.get(2)!;
    expect(two.parts.dense).toBeCloseTo(0.25 * (1.35 / 1.8), 12);
    expect(two.parts.bm25).toBeCloseTo(0.75, 12);
    expect(two.score).toBeCloseTo(two.parts.dense + two.parts.bm25, 15);
    expect(fused.get(3)!.score).toBeCloseTo(0.75 * 0.5, 12);
    expect(order(fused)).toEqual([2, 3, 1]);
  });

  it('gives a chunk missing from a leg that leg\'s normalised minimum (0), not the leg\'s lowest score seen', () => {
    // Chunk 9 is dense-only with a weak cosine; chunk 4 BM25-only. Missing = theoretical floor.
    const fused = convexFuse({ dense: hits([5, 0.6], [9, -0.2]), bm25: hits([5, 8], [4, 2]) }, 0.5);
    expect(fused.get(9)!.parts).toEqual({ dense: 0.5 * (0.8 / 1.6), bm25: 0 });
    expect(fused.get(4)!.parts).toEqual({ dense: 0, bm25: 0.5 * (2 / 8) });
    expect(fused.get(5)!.score).toBe(1);
  });

  it('orders equal fused scores by the best leg rank, then chunk id', () => {
    // Chunks 30 and 10 tie on BM25 (ranks 1 and 2 as the leg returned them); 20 ties with both on the fused score via the dense leg.
    const fused = convexFuse({ dense: hits([20, 1]), bm25: hits([30, 5], [10, 5]) }, 0.5);
    expect(fused.get(20)!.score).toBe(0.5);
    expect(fused.get(30)!.score).toBe(0.5);
    expect(fused.get(10)!.score).toBe(0.5);
    expect(order(fused)).toEqual([20, 30, 10]);
  });

  it('an empty leg contributes nothing and keeps the other leg\'s order', () => {
    const fused = convexFuse({ dense: [], bm25: hits([3, 9], [1, 4], [2, 4]) }, 0.6);
    expect(order(fused)).toEqual([3, 1, 2]);
    expect(fused.get(3)!.parts).toEqual({ dense: 0, bm25: 0.4 });
  });

  it('bm25-only and dense-only runs (the other leg null) rank exactly like the leg, whatever alpha', () => {
    const bm25 = hits([7, 12], [3, 12], [5, 6], [1, 0.5]);
    const dense = hits([4, 0.9], [2, 0.9], [6, -0.3]);
    for (const alpha of [0, 0.3, 1]) {
      const b = convexFuse({ dense: null, bm25 }, alpha);
      expect(order(b)).toEqual([7, 3, 5, 1]);
      expect(b.get(5)!.score).toBeCloseTo(0.5, 12); // the leg's own normalised score, not (1 − alpha)×
      expect(order(convexFuse({ dense, bm25: null }, alpha))).toEqual([4, 2, 6]);
      // …and the same order as rank fusion gives in those modes.
      expect(order(rrfFuse({ dense: null, bm25 }, { dense: 1, bm25: 1 }, 60))).toEqual([7, 3, 5, 1]);
    }
  });

  it('a leg whose top score is its theoretical minimum carries no evidence', () => {
    const fused = convexFuse({ dense: hits([1, 0.5]), bm25: hits([2, 0], [3, 0]) }, 0.5);
    expect(fused.get(2)!.score).toBe(0);
    expect(order(fused)).toEqual([1, 2, 3]);
  });

  it('counts a repeated chunk once, at its best rank and score, and clamps out-of-range scores', () => {
    const fused = convexFuse({ dense: hits([1, 1.0000001], [2, -1.0000001]), bm25: hits([8, 4], [8, 1]) }, 0.5);
    expect(fused.get(1)!.parts.dense).toBe(0.5);
    expect(fused.get(2)!.parts.dense).toBe(0);
    expect(fused.get(8)!.bm25).toEqual({ rank: 1, score: 4 });
    expect(fused.get(8)!.parts.bm25).toBe(0.5);
  });

  it('rejects alpha outside [0, 1]', () => {
    expect(() => convexFuse({ dense: null, bm25: null }, 1.5)).toThrow(RangeError);
    expect(() => convexFuse({ dense: null, bm25: null }, Number.NaN)).toThrow(/alpha/);
  });

  it('fuse() dispatches on the method', () => {
    const legs = { dense: hits([1, 0.9]), bm25: hits([2, 3]) };
    const opts = { weights: { dense: 1, bm25: 1 }, rrfK: 60, alpha: 0.5 };
    expect(fuse(legs, { ...opts, method: 'rrf' }).get(1)!.method).toBe('rrf');
    expect(fuse(legs, { ...opts, method: 'convex' }).get(1)).toEqual(convexFuse(legs, 0.5).get(1));
  });
});

describe('recencyMultiplier', () => {
  it('follows 1 - w + w·2^(-age/half_life) for configured kinds only', () => {
    expect(recencyMultiplier('news', NOW, NOW, recency)).toBeCloseTo(1, 12);
    expect(recencyMultiplier('news', NOW - 180 * DAY, NOW, recency)).toBeCloseTo(0.85, 12);
    expect(recencyMultiplier('news', NOW - 360 * DAY, NOW, recency)).toBeCloseTo(0.775, 12);
    expect(recencyMultiplier('post', NOW - 360 * DAY, NOW, recency)).toBe(1);
    expect(recencyMultiplier('news', null, NOW, recency)).toBe(1);
    expect(recencyMultiplier('news', NOW - 360 * DAY, NOW, noRecency)).toBe(1);
  });
});

describe('rerank', () => {
  const base = { topK: 10, recency, timeSensitive: true, mmr: { enabled: false, lambda: 0.7, minSimilarity: 0.5 }, maxChunksPerDoc: 0, nowMs: NOW };
  const mmr = (lambda: number, minSimilarity = 0.5) => ({ enabled: true, lambda, minSimilarity });

  it('starts from the convex order, reports the fusion and its parts, and recency multiplies the fused score', () => {
    const fused = convexFuse({ dense: hits([1, 0.8], [2, 0.6]), bm25: hits([2, 10], [3, 9]) }, 0.5);
    const cands = [...fused].map(([chunkId, f]) => ({ ...cand(chunkId, 0), fused: f, kind: 'news' as const, publishedMs: NOW - (chunkId === 3 ? 1 : 720) * DAY }));
    const plain = rerank(cands, { ...base, timeSensitive: false });
    expect(plain.map((c) => c.chunkId)).toEqual([2, 1, 3]);
    expect(plain[0].score).toMatchObject({ rrf: fused.get(2)!.score, fusion: { method: 'convex', dense: fused.get(2)!.parts.dense, bm25: 0.5 }, rrfRank: 1, moves: [] });
    // Time-sensitive: the fresh chunk 3 (0.45) passes chunk 1 (0.5 × 0.71875 at 720 days) but not chunk 2 (0.94 × 0.71875).
    const timely = rerank(cands, base);
    expect(timely.map((c) => c.chunkId)).toEqual([2, 3, 1]);
    expect(timely[1].score.fused).toBeCloseTo(0.45 * timely[1].score.recency, 12);
    expect(timely[1].score.moves).toEqual([{ stage: 'recency', from: 3, to: 2 }]);
  });

  it('boosts newer news among equal matches and reports the breakdown', () => {
    const old = cand(1, 0.02, { kind: 'news', publishedMs: NOW - 720 * DAY });
    const fresh = cand(2, 0.02, { kind: 'news', publishedMs: NOW - 5 * DAY });
    const out = rerank([old, fresh], base);
    expect(out.map((c) => c.chunkId)).toEqual([2, 1]);
    expect(out[1].score.recency).toBeCloseTo(0.7 + 0.3 * Math.pow(2, -4), 12);
    expect(out[1].score.fused).toBeCloseTo(0.02 * out[1].score.recency, 15);
    expect(out[0].score.rrf).toBe(0.02);
    // Without recency, ties fall back to chunk id order.
    expect(rerank([fresh, old], { ...base, recency: noRecency }).map((c) => c.chunkId)).toEqual([1, 2]);
  });

  it('caps chunks per document and still fills topK from other documents', () => {
    const cands = [cand(1, 0.05, { docId: 100 }), cand(2, 0.04, { docId: 100 }), cand(3, 0.03, { docId: 100 }), cand(4, 0.01, { docId: 200 })];
    const out = rerank(cands, { ...base, topK: 3, maxChunksPerDoc: 2 });
    expect(out.map((c) => c.chunkId)).toEqual([1, 2, 4]);
    expect(out[2].score.moves).toEqual([{ stage: 'doc_cap', from: 4, to: 3 }]);
    expect(rerank(cands, { ...base, topK: 3, maxChunksPerDoc: 0 }).map((c) => c.chunkId)).toEqual([1, 2, 3]);
  });

  it('MMR pushes near-identical texts down (token Jaccard when no vectors)', () => {
    const dupText = 'the central bank raised interest rates by half a point on tuesday';
    const cands = [
      cand(1, 0.05, { text: dupText }),
      cand(2, 0.049, { text: dupText + ' again' }),
      cand(3, 0.045, { text: 'a completely different story about football transfers' }),
    ];
    const plain = rerank(cands, base).map((c) => c.chunkId);
    expect(plain).toEqual([1, 2, 3]);
    const diverse = rerank(cands, { ...base, mmr: mmr(0.7) });
    expect(diverse.map((c) => c.chunkId)).toEqual([1, 3, 2]);
    // MMR reorders but each hit keeps its own fused score.
    expect(diverse[1].score.fused).toBeCloseTo(0.045, 15);
  });

  it('MMR leaves distinct passages in relevance order and only moves near-duplicates', () => {
    // Overlapping but not near-identical texts (Jaccard < 0.5): classic MMR (minSimilarity 0) would
    // reorder them by novelty, the gated MMR keeps the relevance order.
    const cands = [
      cand(1, 0.05, { text: 'solar panels convert sunlight into electricity on rooftops' }),
      cand(2, 0.049, { text: 'solar panels convert sunlight in deserts at large scale' }),
      cand(3, 0.045, { text: 'wind turbines are a different technology entirely' }),
    ];
    expect(rerank(cands, { ...base, mmr: mmr(0.7) }).map((c) => c.chunkId)).toEqual([1, 2, 3]);
    const classic = rerank(cands, { ...base, mmr: mmr(0.7, 0) });
    expect(classic.map((c) => c.chunkId)).toEqual([1, 3, 2]);
    expect(classic[1].score.moves).toEqual([{ stage: 'mmr', from: 3, to: 2 }]);
    // lambda = 1 → pure relevance.
    expect(rerank(cands, { ...base, mmr: mmr(1, 0) }).map((c) => c.chunkId)).toEqual([1, 2, 3]);
  });

  it('applies recency only when the question is time-sensitive', () => {
    const better = cand(1, 0.0164, { kind: 'news', publishedMs: NOW - 900 * DAY }); // rank 1 by rrf
    const newer = cand(2, 0.0161, { kind: 'news', publishedMs: NOW - 1 * DAY });
    expect(rerank([better, newer], { ...base, timeSensitive: false }).map((c) => c.chunkId)).toEqual([1, 2]);
    const timely = rerank([better, newer], base);
    expect(timely.map((c) => c.chunkId)).toEqual([2, 1]);
    expect(timely[0].score.moves).toEqual([{ stage: 'recency', from: 2, to: 1 }]);
    expect(timely[1].score.moves).toEqual([{ stage: 'recency', from: 1, to: 2 }]);
    expect(timely[0].score.rrfRank).toBe(2);
  });

  it('puts exact title matches first, then phrase matches, and explains the move', () => {
    const cands = [
      cand(1, 0.05),
      cand(2, 0.04, { exact: 'phrase' }),
      cand(3, 0.025, { exact: 'title', kind: 'news', publishedMs: NOW - 2000 * DAY }),
      cand(4, 0.02),
    ];
    const out = rerank(cands, { ...base, mmr: mmr(0.7) });
    expect(out.map((c) => c.chunkId)).toEqual([3, 2, 1, 4]);
    expect(out[0].score.exact).toBe('title');
    // Recency (time-sensitive here) first moved it 3 → 4, then the exact stage 4 → 1.
    expect(out[0].score.moves).toEqual([
      { stage: 'recency', from: 3, to: 4 },
      { stage: 'exact', from: 4, to: 1 },
    ]);
    expect(out[3].score.moves).toEqual([{ stage: 'recency', from: 4, to: 3 }, { stage: 'exact', from: 3, to: 4 }]);
  });

  it('orders the reranked head by reranker score ahead of the unreranked tail', () => {
    const cands = [cand(1, 0.05, { rerank: 0.1 }), cand(2, 0.04, { rerank: 0.9 }), cand(3, 0.03, { rerank: 0.5 }), cand(4, 0.02)];
    const out = rerank(cands, base);
    expect(out.map((c) => c.chunkId)).toEqual([2, 3, 1, 4]);
    expect(out[0].score).toMatchObject({ rerank: 0.9, rrfRank: 2, moves: [{ stage: 'rerank', from: 2, to: 1 }] });
    expect(out[3].score.rerank).toBeNull();
    expect(out[3].score.moves).toEqual([]);
  });

  it('fills from beyond the MMR pool in score order when the pool runs dry', () => {
    // 40 chunks of one document lead the ranking; the cap leaves them 1 slot.
    const cands = [...Array.from({ length: 40 }, (_, i) => cand(i + 1, 1 - i / 100, { docId: 1 })), cand(100, 0.1, { docId: 2 }), cand(101, 0.05, { docId: 3 })];
    const out = rerank(cands, { ...base, topK: 3, maxChunksPerDoc: 1, mmr: mmr(0.7) });
    expect(out.map((c) => c.chunkId)).toEqual([1, 100, 101]);
  });

  it('returns fewer than topK when candidates run out', () => {
    expect(rerank([cand(1, 0.1)], { ...base, topK: 5, mmr: mmr(0.5) })).toHaveLength(1);
    expect(rerank([], { ...base, topK: 5 })).toEqual([]);
  });
});

describe('similarityTokens', () => {
  it('splits words and CJK bigrams', () => {
    const t = (s: string) => similarityTokens(s);
    // 2 words + 3 bigrams; case, punctuation and repetition do not matter.
    expect(t('Rates rose, 利率上调')).toHaveLength(5);
    expect(t('rates ROSE rates 利率上调!')).toEqual(t('Rates rose, 利率上调'));
    expect(jaccard(t('a b c'), t('b c d'))).toBeCloseTo(0.5, 12);
    expect(jaccard(t('利率上调'), t('利率下调'))).toBeCloseTo(1 / 5, 12); // {利率,率上,上调} vs {利率,率下,下调}
    expect(jaccard(t('中'), t('中'))).toBe(1); // a one-character run is a token
    expect(jaccard(t('Übung macht'), t('übung'))).toBeCloseTo(0.5, 12);
    expect(jaccard(t(''), t('...'))).toBe(0);
  });
});

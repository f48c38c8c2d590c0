import { describe, expect, it } from 'vitest';
import { jaccard, recencyMultiplier, rerank, rrfFuse, similarityTokens, type Candidate } from './fusion.ts';

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
    fused: { dense: null, bm25: { rank: 1, score: 1 }, rrf },
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
    expect(fused.get(1)).toEqual({ dense: { rank: 1, score: 0.9 }, bm25: null, rrf: 1 / 61 });
    expect(fused.get(2)!.rrf).toBeCloseTo(1 / 62 + 0.5 / 61, 15);
    expect(fused.get(2)!.bm25).toEqual({ rank: 1, score: 12 });
    expect(fused.get(3)!.rrf).toBeCloseTo(0.5 / 62, 15);
  });

  it('handles a missing leg and counts a repeated chunk once', () => {
    const fused = rrfFuse({ dense: null, bm25: [{ chunkId: 7, score: 3 }, { chunkId: 7, score: 2 }, { chunkId: 8, score: 1 }] }, { dense: 1, bm25: 1 }, 10);
    expect(fused.get(7)!.rrf).toBeCloseTo(1 / 11, 15);
    expect(fused.get(8)!.bm25!.rank).toBe(2);
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

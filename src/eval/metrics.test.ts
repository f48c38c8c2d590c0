import { describe, expect, it } from 'vitest';
import { mrrAt, ndcgAt, recallAt, summarize } from './metrics.ts';

const rel = (entries: Array<[string, number]>) => new Map(entries);

describe('metrics', () => {
  it('recall@k counts relevant docs in the first k over all relevant docs', () => {
    const r = rel([['a', 1], ['b', 1]]);
    expect(recallAt(['x', 'a', 'y', 'b'], r, 1)).toBe(0);
    expect(recallAt(['x', 'a', 'y', 'b'], r, 2)).toBe(0.5);
    expect(recallAt(['x', 'a', 'y', 'b'], r, 4)).toBe(1);
    expect(recallAt(['a', 'a'], r, 2)).toBe(0.5); // a repeated id is not counted twice
    expect(recallAt(['a'], rel([['a', 0]]), 1)).toBe(0); // grade 0 = judged not relevant
  });

  it('MRR@k is 1/rank of the first relevant hit inside the cut', () => {
    const r = rel([['b', 1], ['c', 1]]);
    expect(mrrAt(['a', 'b', 'c'], r, 10)).toBe(0.5);
    expect(mrrAt(['c', 'b'], r, 10)).toBe(1);
    expect(mrrAt(['a', 'x', 'b'], r, 2)).toBe(0);
    expect(mrrAt([], r, 10)).toBe(0);
  });

  it('nDCG@k matches a hand computation', () => {
    // One relevant doc at rank 3: DCG = 1/log2(4) = 0.5, IDCG = 1 → 0.5.
    expect(ndcgAt(['x', 'y', 'a'], rel([['a', 1]]), 10)).toBeCloseTo(0.5, 12);
    // Relevant {a, b}; ranking [a, x, b]: DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3).
    expect(ndcgAt(['a', 'x', 'b'], rel([['a', 1], ['b', 1]]), 10)).toBeCloseTo(1.5 / (1 + 1 / Math.log2(3)), 12);
    // Graded: a=2, b=1, ranking [b, a]: DCG = 1 + 2/log2(3); IDCG = 2 + 1/log2(3).
    expect(ndcgAt(['b', 'a'], rel([['a', 2], ['b', 1]]), 10)).toBeCloseTo((1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3)), 12);
    // Outside the cut → 0; perfect ranking → 1.
    expect(ndcgAt(['x', 'a'], rel([['a', 1]]), 1)).toBe(0);
    expect(ndcgAt(['a', 'b'], rel([['a', 1], ['b', 1]]), 10)).toBe(1);
  });

  it('summarize averages over queries', () => {
    const s = summarize([
      { ranked: ['a'], rel: rel([['a', 1]]) },
      { ranked: ['x', 'y', 'b'], rel: rel([['b', 1]]) },
    ]);
    expect(s.queries).toBe(2);
    expect(s['recall@1']).toBe(0.5);
    expect(s['recall@5']).toBe(1);
    expect(s['mrr@10']).toBeCloseTo((1 + 1 / 3) / 2, 12);
    expect(s['ndcg@10']).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(summarize([])['recall@10']).toBe(0);
  });
});

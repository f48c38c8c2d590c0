import { afterEach, describe, expect, it } from 'vitest';
import { addDocs, openTestStore, retrievalConfig, type TestStore } from '../../test/retrieval/kit.ts';
import { createHybridRetriever } from './hybrid.ts';
import { hitJson, resultMetaJson, scoreJson } from './json.ts';
import type { RetrievalHit } from './types.ts';

// The public retrieval JSON is snake_case throughout, whatever the TypeScript names are.

let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

/** Every object key anywhere in `v` (array elements included), with its path. */
function keysOf(v: unknown, at = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keysOf(x, `${at}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${at}.${k}`, ...keysOf(x, `${at}.${k}`)]);
  return [];
}
const notSnake = (v: unknown) => keysOf(v).filter((p) => !/^[a-z0-9_]+$/.test(p.slice(p.lastIndexOf('.') + 1)));

const hit: RetrievalHit = {
  chunkId: 7,
  docId: 3,
  source: 'wire',
  externalId: 'n-1',
  kind: 'news',
  title: 'T',
  url: null,
  publishedAt: '2024-01-01T00:00:00Z',
  tags: ['a'],
  text: 'x',
  score: {
    dense: null,
    bm25: { rank: 2, score: 3.5 },
    rrf: 0.016,
    fusion: { method: 'convex', dense: 0, bm25: 0.016 },
    recency: 1,
    fused: 0.016,
    rrfRank: 2,
    rerank: 0.9,
    exact: 'title',
    moves: [{ stage: 'exact', from: 2, to: 1 }],
  },
};

describe('retrieval JSON', () => {
  it('maps every breakdown field to its snake_case name', () => {
    expect(scoreJson(hit.score)).toEqual({
      dense: null,
      bm25: { rank: 2, score: 3.5 },
      rrf: 0.016,
      fusion: { method: 'convex', dense: 0, bm25: 0.016 },
      rrf_rank: 2,
      recency: 1,
      fused: 0.016,
      rerank: 0.9,
      exact: 'title',
      moves: [{ stage: 'exact', from: 2, to: 1 }],
    });
    expect(hitJson(hit)).toMatchObject({ chunk_id: 7, doc_id: 3, external_id: 'n-1', published_at: '2024-01-01T00:00:00Z', page: null });
  });

  it('gives the optional fields a stated value (null / []) for retrievers without ordering stages', () => {
    const s = scoreJson({ dense: { rank: 1, score: 0.8 }, bm25: null, rrf: 0.02, recency: 1, fused: 0.02 });
    expect(s).toMatchObject({ fusion: null, rrf_rank: null, rerank: null, exact: null, moves: [] });
  });

  it('an internal field that is not mapped does not leak under its camelCase name', () => {
    const extra = { ...hit.score, someNewField: 1 } as typeof hit.score;
    expect(scoreJson(extra)).not.toHaveProperty('someNewField');
  });

  it('a real retrieval, as /v1/retrieve and `kb search --json` print it, has only snake_case keys', async () => {
    store = openTestStore();
    addDocs(store, [
      { id: 'a', title: 'Huake battery plant opens', chunks: ['Huake battery plant opens in Shanghai, battery output doubles'], kind: 'news', publishedAt: '2024-03-01T00:00:00Z' },
      { id: 'b', chunks: ['battery prices fall as the plant opens', 'battery battery battery'], kind: 'comment' },
      { id: 'c', chunks: ['solar panel exports grow'], kind: 'post' },
    ]);
    const retriever = createHybridRetriever({ db: store.db, dense: null, embedder: null, config: retrievalConfig() });
    const result = await retriever.retrieve({ query: 'Huake battery plant opens', topK: 5, groups: null, mode: 'hybrid', explainLegs: true });
    expect(result.hits.length).toBeGreaterThan(1);
    expect(result.degraded.length).toBeGreaterThan(0); // the dense leg is off: degraded is part of the checked shape
    const json = { query: 'q', hits: result.hits.map(hitJson), ...resultMetaJson(result) };
    expect(notSnake(json)).toEqual([]);
    expect(json.hits[0].score.rrf_rank).toEqual(expect.any(Number));
    expect(json.ranking).toEqual({ recency: expect.any(String), rerank: 'off' });
    expect(json.legs?.bm25?.length).toBeGreaterThan(0);
    // The check itself finds camelCase: the internal result is not the public shape.
    expect(notSnake({ hits: result.hits })).toContain('$.hits[0].chunkId');
  });
});

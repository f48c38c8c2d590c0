import { afterEach, describe, expect, it } from 'vitest';
import { addDocs, openTestStore, retrievalConfig, type TestStore } from '../../test/retrieval/kit.ts';
import { createHybridRetriever } from '../retrieval/hybrid.ts';
import { createServedRetriever } from '../retrieval/open.ts';
import { RERANK_OFF } from '../config/sections/rerank.ts';
import type { Reranker } from './types.ts';

// The reranking stage inside the retriever: what it reorders, what the breakdown says, and how
// it degrades. The reranker here is a test double; the real providers have their own tests.

let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

function setup() {
  store = openTestStore();
  addDocs(store, [
    { id: 'lexical', chunks: ['battery battery battery capacity report'] },
    { id: 'answer', chunks: ['the battery lasts ten hours on one charge'] },
    { id: 'other', chunks: ['battery recycling plant opens'] },
    { id: 'far', chunks: ['battery'] },
  ]);
  return store;
}

/** Scores a passage by whether it contains `word`; records every call. */
function scorer(word: string, behaviour: { delayMs?: number; fail?: string } = {}) {
  const calls: { query: string; passages: readonly string[] }[] = [];
  const r: Reranker = {
    id: 'test:contains',
    load: async () => undefined,
    score: async (query, passages, signal) => {
      calls.push({ query, passages });
      if (behaviour.fail) throw new Error(behaviour.fail);
      if (behaviour.delayMs) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, behaviour.delayMs);
          signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new Error('aborted'));
          });
        });
      }
      return passages.map((p) => (p.includes(word) ? 5 : 1) - p.length / 1000);
    },
  };
  return { r, calls };
}

describe('rerank stage', () => {
  it('reorders the fused head by the reranker score and explains it', async () => {
    const s = setup();
    const { r, calls } = scorer('hours');
    const q = { query: 'battery hours', topK: 4, groups: null, mode: 'bm25' as const };
    const plain = await createHybridRetriever({ db: s.db, dense: null, embedder: null, config: retrievalConfig() }).retrieve(q);
    const answerRank = plain.hits.findIndex((h) => h.externalId === 'answer');
    const res = await createHybridRetriever({ db: s.db, dense: null, embedder: null, config: retrievalConfig(), rerank: { reranker: r, head: 3, timeoutMs: 5000 } }).retrieve(q);
    expect(res.ranking?.rerank).toBe('applied');
    expect(res.hits[0].externalId).toBe('answer');
    expect(res.hits[0].score.rerank).toBeGreaterThan(4);
    if (answerRank > 0) expect(res.hits[0].score.moves).toContainEqual({ stage: 'rerank', from: answerRank + 1, to: 1 });
    // Only the head (3 of 4 candidates) was sent; the tail keeps no reranker score.
    expect(calls).toHaveLength(1);
    expect(calls[0].passages).toHaveLength(3);
    expect(res.hits.filter((h) => h.score.rerank === null)).toHaveLength(1);
    expect(typeof res.timings.rerank_model).toBe('number');
  });

  it('keeps the fused order and says why when the reranker fails or exceeds its budget', async () => {
    const s = setup();
    const q = { query: 'battery hours', topK: 4, groups: null, mode: 'bm25' as const };
    const plain = await createHybridRetriever({ db: s.db, dense: null, embedder: null, config: retrievalConfig() }).retrieve(q);
    for (const [behaviour, reason] of [
      [{ fail: 'connection refused' }, /connection refused/],
      [{ delayMs: 5000 }, /exceeded the 50 ms budget/],
    ] as const) {
      const { r } = scorer('hours', behaviour);
      const res = await createHybridRetriever({ db: s.db, dense: null, embedder: null, config: retrievalConfig(), rerank: { reranker: r, head: 3, timeoutMs: 50 } }).retrieve(q);
      expect(res.hits.map((h) => h.externalId)).toEqual(plain.hits.map((h) => h.externalId));
      expect(res.ranking?.rerank).toMatch(reason);
      expect(res.ranking?.rerank).toMatch(/^skipped: /);
      expect(res.degraded.some((d) => d.startsWith('rerank: '))).toBe(true);
      expect(res.hits.every((h) => h.score.rerank === null)).toBe(true);
    }
  });

  it('is off unless configured, and the served retriever wires the configured head and budget', async () => {
    const s = setup();
    const off = createServedRetriever({ retrieval: retrievalConfig().retrieval, data_dir: s.dir }, { db: s.db, dense: null, embedder: null });
    expect(off.reranker).toBeNull();
    expect((await off.retriever.retrieve({ query: 'battery', topK: 2, groups: null, mode: 'bm25' })).ranking?.rerank).toBe('off');
    const { r, calls } = scorer('hours');
    const on = createServedRetriever(
      { retrieval: retrievalConfig().retrieval, data_dir: s.dir, rerank: { ...RERANK_OFF, provider: 'http', head: 2 } },
      { db: s.db, dense: null, embedder: null, reranker: r },
    );
    const res = await on.retriever.retrieve({ query: 'battery hours', topK: 4, groups: null, mode: 'bm25' });
    expect(res.ranking?.rerank).toBe('applied');
    expect(calls[0].passages).toHaveLength(2);
  });
});

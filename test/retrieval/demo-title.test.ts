import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { createServedRetriever } from '../../src/retrieval/open.ts';
import { openStore, type DB } from '../../src/store/index.ts';

// Issue 12's symptom in the demo world: `kb search "<exact title of news-000008>" -k 20 --mode
// bm25` put that article — BM25 rank 1 — at position 9, behind newer comments and posts, because
// recency applied to every question and MMR then reordered. The served defaults must put it first
// and the breakdown must explain every hit's position.

let dir = '';
let db: DB;
let config: Config;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-demo-title-'));
  config = loadConfig({ env: {}, overrides: { data_dir: dir } });
  db = openStore(path.join(dir, 'kb.sqlite'));
  await runIngestion({ config, db, log: silentLogger }, { embedder: null }); // BM25 only: no model needed
}, 120_000);
afterAll(() => {
  db?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('exact title query in the demo world (served defaults)', () => {
  it('ranks news-000008 first, and every hit says why it sits where it does', async () => {
    const title = db.prepare("SELECT title FROM documents WHERE external_id = 'news-000008'").pluck().get() as string;
    // The query exactly as a user types it (full-width comma); the store holds the cleaned title.
    const query = '锐驰无人机牵手华科智能，共建工业无人机联合方案';
    expect(title.normalize('NFKC')).toBe(query.normalize('NFKC'));
    const { retriever } = createServedRetriever(config, { db, dense: null, embedder: null });
    const res = await retriever.retrieve({ query, topK: 20, groups: null, mode: 'bm25' });
    expect(res.hits[0].externalId).toBe('news-000008');
    expect(res.hits[0].score.exact).toBe('title');
    expect(res.ranking?.recency).toBe('not time-sensitive');
    // Positions are explained: a hit not where rrf put it names the stage(s) that moved it.
    res.hits.forEach((h, i) => {
      const moves = h.score.moves ?? [];
      if (h.score.rrfRank !== i + 1) expect(moves.length, `hit ${i + 1} (${h.externalId})`).toBeGreaterThan(0);
      if (moves.length) expect(moves.at(-1)!.to).toBeGreaterThanOrEqual(1);
    });
  });

  it('the old behaviour (RRF, recency on every question, classic MMR, no exact stage) buries it — the regression this guards', async () => {
    const old = { ...config, retrieval: { ...config.retrieval, fusion: 'rrf' as const, recency: { ...config.retrieval.recency, apply: 'always' as const }, mmr: { ...config.retrieval.mmr, min_similarity: 0 }, exact_match: { enabled: false, min_phrase_chars: 8 } } };
    const { retriever } = createServedRetriever(old, { db, dense: null, embedder: null });
    const res = await retriever.retrieve({ query: '锐驰无人机牵手华科智能，共建工业无人机联合方案', topK: 20, groups: null, mode: 'bm25' });
    const at = res.hits.findIndex((h) => h.externalId === 'news-000008');
    expect(at).toBeGreaterThan(0);
    expect(res.hits[at].score.bm25?.rank).toBe(1);
    // Convex fusion (the default) keeps BM25's score margin, which the recency multiplier does
    // not overturn: even with the old stage settings the article stays first.
    const convex = createServedRetriever({ ...old, retrieval: { ...old.retrieval, fusion: 'convex' } }, { db, dense: null, embedder: null }).retriever;
    const c = await convex.retrieve({ query: '锐驰无人机牵手华科智能，共建工业无人机联合方案', topK: 20, groups: null, mode: 'bm25' });
    expect(c.hits[0].externalId).toBe('news-000008');
    expect(c.hits[0].score.fusion?.method).toBe('convex');
  });
});

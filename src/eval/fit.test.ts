import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BagOfWordsEmbedder } from '../../test/retrieval/kit.ts';
import { loadConfig } from '../config/index.ts';
import type { Reranker } from '../rerank/types.ts';
import { fitRetrieval, fitTable } from './fit.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

// 12 topics; each query shares one rare word with its passage and several common words with a
// distractor, so the two legs disagree and the weights matter.
function dataset(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-fit-'));
  dirs.push(dir);
  const topics = ['solar', 'wind', 'tea', 'coffee', 'rice', 'wheat', 'tiger', 'eagle', 'violin', 'piano', 'copper', 'silver'];
  const corpus = topics.flatMap((t, i) => [
    { id: `p${i}`, title: t, text: `${t} facts and details about ${t}` },
    { id: `d${i}`, title: 'misc', text: `general report facts details about many things number ${i}` },
  ]);
  const queries = topics.map((t, i) => ({ id: `q${i}`, text: `report of facts and details about ${t}` }));
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), corpus.map((x) => JSON.stringify(x)).join('\n'));
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), queries.map((x) => JSON.stringify(x)).join('\n'));
  fs.writeFileSync(path.join(dir, 'qrels.tsv'), topics.map((_, i) => `q${i}\tp${i}\t1`).join('\n'));
  return dir;
}

describe('kb eval fit', () => {
  const config = loadConfig({ env: {} });
  // A deployment that configured rank fusion (the shipped default is convex).
  const rrfConfig = { ...config, retrieval: { ...config.retrieval, fusion: 'rrf' as const } };

  it('tries every weight, reports both held-out halves and a recommendation with the config to paste', async () => {
    const r = await fitRetrieval({ dataset: dataset(), config: rrfConfig, mode: 'hybrid', denseWeights: [0, 1, 3], heads: [], embedder: new BagOfWordsEmbedder(), reranker: null });
    expect(r.rows.map((x) => x.setting.weights.dense)).toEqual([0, 1, 3]);
    expect(r.rows.every((x) => x.setting.head === null)).toBe(true);
    expect(r.folds.map((f) => f.train)).toEqual([0, 1]);
    // The recommendation is the best row on all queries.
    const best = Math.max(...r.rows.map((x) => x.all.ndcg));
    expect(r.rows.find((x) => x.setting.weights.dense === r.recommended.weights.dense)!.all.ndcg).toBe(best);
    for (const f of r.folds) expect(f.heldOut.ndcg).toBe(r.rows.find((x) => x.setting.weights.dense === f.chosen.weights.dense)!.halves[1 - f.train].ndcg);
    expect(fitTable(r)).toMatch(/held-out half 1: nDCG@10 [\d.]+/);
    expect(fitTable(r)).toContain(`dense: ${r.recommended.weights.dense}`);
  });

  it('fits convex fusion\'s alpha when fusion is convex, next to the configured rrf setting', async () => {
    // A dense leg that misses the topic word (the query's last word) prefers the distractors, so
    // alpha 1 (dense order) must score below alpha 0 (BM25 order): alpha really reaches the retriever.
    const blind = new BagOfWordsEmbedder();
    const embedQuery = blind.embedQuery.bind(blind);
    blind.embedQuery = (text: string) => embedQuery(text.split(' ').slice(0, -1).join(' '));
    const r = await fitRetrieval({ dataset: dataset(), config: rrfConfig, mode: 'hybrid', fusion: 'convex', denseWeights: [5], alphas: [0, 0.5, 1], heads: [], embedder: blind, reranker: null });
    // Three alphas + the configured (rrf, weights 1 / 1) setting; --dense-weights do not apply to convex.
    expect(r.rows.map((x) => [x.setting.fusion, x.setting.alpha])).toEqual([['convex', 0], ['convex', 0.5], ['convex', 1], ['rrf', null]]);
    expect(r.configured).toMatchObject({ fusion: 'rrf', alpha: null, weights: { dense: 1, bm25: 1 } });
    const [bm25Only, , denseOnly] = r.rows;
    expect(denseOnly.all.ndcg).toBeLessThan(bm25Only.all.ndcg);
    expect(r.recommended.alpha).not.toBe(1);
    const best = Math.max(...r.rows.map((x) => x.all.ndcg));
    const rec = r.rows.find((x) => x.setting.fusion === r.recommended.fusion && x.setting.alpha === r.recommended.alpha)!;
    expect(rec.all.ndcg).toBe(best);
    for (const f of r.folds) {
      const chosen = r.rows.find((x) => x.setting.fusion === f.chosen.fusion && x.setting.alpha === f.chosen.alpha)!;
      expect(f.heldOut).toEqual(chosen.halves[1 - f.train]);
    }
    const table = fitTable(r);
    expect(table).toMatch(/convex alpha 0\.5 +[\d.]+ \/ [\d.]+ \|/);
    if (r.recommended.fusion === 'convex') expect(table).toContain(`fusion: convex\n  convex:\n    alpha: ${r.recommended.alpha}`);
    else expect(table).toContain('fusion: rrf');
  });

  it('with convex configured, fits alpha by default and keeps the configured alpha among the candidates', async () => {
    const convexConfig = { ...config, retrieval: { ...config.retrieval, fusion: 'convex' as const, convex: { alpha: 0.25 } } };
    const r = await fitRetrieval({ dataset: dataset(), config: convexConfig, mode: 'hybrid', denseWeights: [], alphas: [0.5, 1], heads: [], embedder: new BagOfWordsEmbedder(), reranker: null });
    expect(r.rows.map((x) => x.setting.alpha)).toEqual([0.5, 1, 0.25]);
    expect(r.configured).toMatchObject({ fusion: 'convex', alpha: 0.25 });
  });

  it('rejects alphas outside [0, 1]', async () => {
    await expect(
      fitRetrieval({ dataset: dataset(), config, mode: 'hybrid', fusion: 'convex', denseWeights: [], alphas: [0.5, 2], heads: [], embedder: new BagOfWordsEmbedder(), reranker: null }),
    ).rejects.toThrow(/alphas in \[0, 1\]/);
  });

  it('fits the reranker head size with a configured reranker, in bm25 mode', async () => {
    const calls: number[] = [];
    const reranker: Reranker = { id: 'test:title', load: async () => undefined, score: async (_q, ps) => (calls.push(ps.length), ps.map((p) => (p.startsWith('misc') ? 0 : 1))) };
    const r = await fitRetrieval({ dataset: dataset(), config: { ...config, rerank: { ...config.rerank, provider: 'http' } }, mode: 'bm25', denseWeights: [], heads: [1, 5], reranker });
    expect(r.rows.map((x) => x.setting.head)).toEqual([1, 5, 20]); // + the configured head
    expect(new Set(calls)).toEqual(new Set([1, 5, 20])); // every passage matches "facts": each head is full
  });

  it('refuses when there is nothing to fit', async () => {
    await expect(fitRetrieval({ dataset: dataset(), config, mode: 'bm25', denseWeights: [1], heads: [10], reranker: null })).rejects.toThrow(/nothing to fit/);
  });
});

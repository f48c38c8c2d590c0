import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BagOfWordsEmbedder, MissingModelEmbedder } from '../../test/retrieval/kit.ts';
import { loadConfig } from '../config/index.ts';
import { DatasetError, loadBeir } from './beir.ts';
import { evalJson, evaluateRetrieval } from './retrieval.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dataset(files: Partial<Record<'corpus.jsonl' | 'queries.jsonl' | 'qrels.tsv', string>>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-beir-'));
  dirs.push(dir);
  const lines = (xs: object[]) => xs.map((x) => JSON.stringify(x)).join('\n');
  const defaults = {
    'corpus.jsonl': lines([
      { id: 'p1', title: 'Solar power', text: 'Solar panels convert sunlight into electricity using photovoltaic cells.' },
      { id: 'p2', title: 'Wind power', text: 'Wind turbines turn the kinetic energy of wind into electricity.' },
      { id: 'p3', title: '长城', text: '长城是中国古代的军事防御工程，修建历时两千多年。' },
      { id: 'p4', title: 'Tea', text: 'Tea is an aromatic beverage prepared by pouring hot water over cured leaves.' },
    ]),
    'queries.jsonl': lines([
      { id: 'q1', text: 'How do solar panels make electricity?', answers: ['photovoltaic cells'] },
      { id: 'q2', text: 'What do wind turbines convert?', answers: ['kinetic energy'] },
      { id: 'q3', text: '长城修建了多少年？', answers: ['两千多年'] },
      { id: 'q4', text: 'How is tea prepared?', answers: ['pouring hot water'] },
      { id: 'q5', text: 'A question nobody judged', answers: [] },
    ]),
    'qrels.tsv': 'query-id\tcorpus-id\tscore\nq1\tp1\t1\nq2\tp2\t1\nq3\tp3\t1\nq4\tp4\t1\n',
  };
  for (const [name, text] of Object.entries({ ...defaults, ...files })) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('loadBeir', () => {
  it('reads the three files, skips the qrels header and unjudged queries, applies --limit', () => {
    const ds = loadBeir(dataset({}), { limit: 3 });
    expect(ds.corpus).toHaveLength(4);
    expect(ds.queries.map((q) => q.id)).toEqual(['q1', 'q2', 'q3']);
    expect(ds.unjudged).toBe(1);
    expect(ds.qrels.get('q3')).toEqual(new Map([['p3', 1]]));
  });

  it('names file and line of malformed input', () => {
    expect(() => loadBeir(dataset({ 'corpus.jsonl': '{"id":"p1","text":"ok"}\n{broken' }))).toThrow(/corpus\.jsonl:2: invalid JSON/);
    expect(() => loadBeir(dataset({ 'qrels.tsv': 'q1\tp9\t1\n' }))).toThrow(/qrels\.tsv:1: doc id "p9" is not in corpus\.jsonl/);
    expect(() => loadBeir(dataset({ 'queries.jsonl': '{"id":"q1"}' }))).toThrow(DatasetError);
    const dir = dataset({});
    fs.rmSync(path.join(dir, 'qrels.tsv'));
    expect(() => loadBeir(dir)).toThrow(/qrels\.tsv not found/);
  });
});

describe('evaluateRetrieval', () => {
  const config = loadConfig({ env: {} });

  it('bm25 mode finds every gold passage first on an easy set and prints the exact JSON keys', async () => {
    const res = await evaluateRetrieval({ dataset: dataset({}), mode: 'bm25', config });
    expect(res.queries).toBe(4);
    expect(res['recall@1']).toBe(1);
    expect(res['ndcg@10']).toBe(1);
    expect(Object.keys(JSON.parse(evalJson(res)))).toEqual(['dataset', 'mode', 'queries', 'recall@1', 'recall@5', 'recall@10', 'mrr@10', 'ndcg@10']);
  });

  it('runs the served retriever and writes one per-query line with ranks, top ids and per-leg ranks', async () => {
    const dir = dataset({});
    const file = path.join(dir, 'per-query.jsonl');
    const lines: string[] = [];
    const res = await evaluateRetrieval({ dataset: dir, mode: 'hybrid', config, embedder: new BagOfWordsEmbedder(), perQueryFile: file, progress: (l) => lines.push(l) });
    expect(res.details.retriever).toMatch(/^served retriever \(same code and settings as \/v1\/retrieve\).*recency time_sensitive.*rerank off/);
    expect(lines).toContain(res.details.retriever);
    const recs = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((r) => r.id)).toEqual(['q1', 'q2', 'q3', 'q4']);
    const q3 = recs[2];
    expect(q3.relevant).toEqual({ p3: 1 });
    expect(q3.top[0]).toBe('p3');
    expect(q3.legs.bm25).toEqual({ p3: 1 });
    expect(typeof q3.legs.dense.p3).toBe('number');
    expect(q3.metrics['ndcg@10']).toBe(1);
    // The summary is the mean of the per-query metrics.
    expect(recs.reduce((s, r) => s + r.metrics['recall@1'], 0) / recs.length).toBeCloseTo(res['recall@1'], 12);
  });

  it('fails instead of measuring another pipeline when the configured reranker is unavailable', async () => {
    const broken = { id: 'test:broken', load: async () => Promise.reject(new Error('model.onnx missing')), score: async () => [] };
    await expect(evaluateRetrieval({ dataset: dataset({}), mode: 'bm25', config, reranker: broken })).rejects.toThrow(/configured reranker is unavailable: model\.onnx missing/);
  });

  it('dense and hybrid modes embed the corpus, builds a dense index and keeps the store when --work is given', async () => {
    const work = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kb-eval-work-')), 'store');
    dirs.push(path.dirname(work));
    const res = await evaluateRetrieval({ dataset: dataset({}), mode: 'dense', config, embedder: new BagOfWordsEmbedder(), workDir: work });
    expect(res.mode).toBe('dense');
    expect(res['recall@10']).toBe(1); // 4 passages, 10 results: the dense leg returns them all
    expect(fs.existsSync(path.join(work, 'kb.sqlite'))).toBe(true);
    expect(fs.readdirSync(path.join(work, 'index')).length).toBeGreaterThan(0);
    const hybrid = await evaluateRetrieval({ dataset: dataset({}), mode: 'hybrid', config, embedder: new BagOfWordsEmbedder() });
    expect(hybrid['recall@1']).toBe(1);
  });

  it('fails clearly when dense/hybrid has no embedding model, or the work folder is not empty', async () => {
    await expect(evaluateRetrieval({ dataset: dataset({}), mode: 'hybrid', config, embedder: new MissingModelEmbedder() })).rejects.toThrow(
      /--mode hybrid needs the embedding model, which is unavailable: .*missing model\.onnx/,
    );
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-eval-work-'));
    dirs.push(work);
    fs.writeFileSync(path.join(work, 'keep.txt'), 'x');
    await expect(evaluateRetrieval({ dataset: dataset({}), mode: 'bm25', config, workDir: work })).rejects.toThrow(/is not empty/);
    expect(fs.readFileSync(path.join(work, 'keep.txt'), 'utf8')).toBe('x');
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { generateDemoCorpus } from '../../src/demo/generate.ts';
import { loadConfig } from '../../src/config/index.ts';
import { LocalEmbedder } from '../../src/embeddings/local.ts';
import { buildE5ShapedModel } from '../../bench/fixtures/e5-small-shaped.ts';
import { corpusWords, mutateCorpus } from '../../bench/fixtures/corpus.ts';

// The benchmark's fixtures must do what the figures claim: the stand-in model runs through the
// real embedder path, and the refresh edit changes exactly the documents it reports.

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('bench fixtures', () => {
  it('mutateCorpus changes the reported share of documents and leaves every other byte alone', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-fx-'));
    await generateDemoCorpus({ docs: 400, seed: 3, outDir: dir });
    const news0 = fs.readFileSync(path.join(dir, 'news.jsonl'), 'utf8').split('\n');
    const csv0 = fs.readFileSync(path.join(dir, 'comments.csv'), 'utf8');
    const m = mutateCorpus(dir, 0.05);
    expect(m.total).toBe(m.news + m.comments + m.posts);
    expect(m.news).toBeGreaterThan(5);
    expect(m.comments).toBeGreaterThan(2);
    expect(m.posts).toBeGreaterThan(0);

    const news1 = fs.readFileSync(path.join(dir, 'news.jsonl'), 'utf8').split('\n');
    expect(news1.length).toBe(news0.length);
    const diff = news1.filter((l, i) => l !== news0[i]);
    expect(diff.length).toBe(m.news);
    for (const l of diff) expect(JSON.parse(l).content).toContain('Update (week 2)');

    const rows = (s: string) => parse(s, { relax_quotes: true, relax_column_count: true }) as string[][];
    const [c0, c1] = [rows(csv0), rows(fs.readFileSync(path.join(dir, 'comments.csv'), 'utf8'))];
    expect(c1.length).toBe(c0.length);
    const changed = c1.filter((r, i) => JSON.stringify(r) !== JSON.stringify(c0[i]));
    expect(changed.length).toBe(m.comments);
    for (const r of changed) expect(r[6]).toContain('Update (week 2)');
  });

  it('mutateCorpus rejects a fraction outside (0, 1]', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-fx-'));
    expect(() => mutateCorpus(dir, 0)).toThrow(/fraction/);
    expect(() => mutateCorpus(dir, 1.5)).toThrow(/fraction/);
  });

  it('the e5-shaped stand-in loads through LocalEmbedder in q8 and fp32 and embeds deterministically', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-fx-'));
    // 2 layers keep the test fast; the graph per layer is the one the benchmark uses with 12.
    const model = await buildE5ShapedModel(path.join(dir, 'models', 'bench', 'e5s'), { layers: 2, extraWords: ['supplier'] });
    expect(model.linearMacsPerToken).toBe(2 * (4 * 384 * 384 + 2 * 384 * 1536));
    expect(model.vocab.has('supplier')).toBe(true);
    const vectors: Float32Array[][] = [];
    for (const dtype of ['q8', 'fp32'] as const) {
      const cfg = loadConfig({ env: {}, overrides: { data_dir: dir, embedding: { provider: 'local', model: 'bench/e5s', allow_remote: false, dtype } } });
      const e = new LocalEmbedder(cfg.embedding, path.join(dir, 'models'));
      await e.load();
      expect(e.dimension).toBe(384);
      const v = await e.embedPassages(['the supplier audit', '供应商审计后修订了数据', 'the supplier audit']);
      for (const x of v) {
        expect(x.every(Number.isFinite)).toBe(true);
        expect(Math.hypot(...x)).toBeCloseTo(1, 4);
      }
      expect(Array.from(v[2])).toEqual(Array.from(v[0]));
      expect(Array.from(v[1])).not.toEqual(Array.from(v[0]));
      vectors.push(v);
      await e.dispose();
    }
    // Same weights up to int8 rounding: q8 and fp32 agree closely, but they are different graphs.
    const cos = vectors[0][0].reduce((s, x, i) => s + x * vectors[1][0][i], 0);
    expect(cos).toBeGreaterThan(0.9);
  });

  it('corpusWords returns the corpus words, most frequent first', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-fx-'));
    await generateDemoCorpus({ docs: 100, seed: 3, outDir: dir });
    const words = corpusWords(dir);
    expect(words.length).toBeGreaterThan(50);
    expect(words.every((w) => /^[a-z]{2,}$/.test(w))).toBe(true);
    expect(words.slice(0, 30)).toContain('the');
  });
});

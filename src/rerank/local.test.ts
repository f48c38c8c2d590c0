import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyReranker } from '../../test/fixtures/tiny-reranker/build.ts';
import { RERANK_OFF } from '../config/sections/rerank.ts';
import { LocalReranker } from './local.ts';
import { RerankerUnavailableError } from './types.ts';

let modelsDir = '';
beforeAll(async () => {
  modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-reranker-'));
  await buildTinyReranker(path.join(modelsDir, 'test', 'tiny-reranker'));
});
afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

const settings = (over: Partial<typeof RERANK_OFF.local> = {}) => ({ ...RERANK_OFF.local, model: 'test/tiny-reranker', batch_size: 2, ...over });

describe('LocalReranker (transformers.js cross-encoder)', () => {
  it('scores query/passage pairs jointly, in passage order, across batches', async () => {
    const r = new LocalReranker(settings(), modelsDir);
    await r.load();
    const passages = [
      'weather in london is cold and rain',
      'apple banana cherry fruit market price',
      'the red apple and the green apple',
      '苹果 香蕉 的 价格',
      'football team win game',
    ];
    const scores = await r.score('apple fruit price', passages);
    expect(scores).toHaveLength(5);
    expect(scores.every(Number.isFinite)).toBe(true);
    const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
    expect(order[0]).toBe(1); // most shared words
    expect(scores[1]).toBeGreaterThan(scores[0]);
    expect(scores[1]).toBeGreaterThan(scores[4]);
    // Same pair → same score regardless of batch composition (padding must not leak in).
    const [alone] = await r.score('apple fruit price', [passages[1]]);
    expect(alone).toBeCloseTo(scores[1], 5);
    await r.dispose();
  });

  it('says which files are missing instead of loading', async () => {
    const r = new LocalReranker(settings({ model: 'nobody/missing-reranker' }), modelsDir);
    await expect(r.load()).rejects.toThrow(RerankerUnavailableError);
    await expect(r.load()).rejects.toThrow(/missing .*missing-reranker.*config\.json.*allow_remote=true/);
    await expect(r.score('q', ['p'])).rejects.toThrow(/not loaded/);
  });

  it('stops between batches once the budget is spent', async () => {
    const r = new LocalReranker(settings({ batch_size: 1 }), modelsDir);
    await r.load();
    const ac = new AbortController();
    ac.abort();
    await expect(r.score('apple', ['apple', 'banana'], ac.signal)).rejects.toThrow(/aborted/);
    await r.dispose();
  });
});

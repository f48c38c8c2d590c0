import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type DB } from '../store/index.ts';
import { EmbeddingCache, bufferToVector, embedWithCache, vectorToBuffer } from './cache.ts';
import type { Embedder } from './types.ts';

/** Test double: deterministic vectors, records every call. */
class CountingEmbedder implements Embedder {
  readonly id = 'test:counting';
  readonly dimension = 3;
  calls: string[][] = [];
  failOnCall = 0;
  constructor(readonly batchSize = 2) {}
  async load() {}
  async embedPassages(texts: string[]) {
    this.calls.push(texts);
    if (this.failOnCall === this.calls.length) throw new Error('embedder crashed');
    return texts.map((t) => new Float32Array([t.length, t.charCodeAt(0) || 0, 0.1]));
  }
  async embedQuery(text: string) {
    return (await this.embedPassages([text]))[0];
  }
}

let db: DB;
beforeEach(() => {
  db = openStore(':memory:');
});
afterEach(() => db.close());

describe('Float32 <-> Buffer', () => {
  it('round-trips exactly, including special values and views with a byteOffset', () => {
    const backing = new Float32Array([9, 1.1, -0, Number.MIN_VALUE, 3.4e38, NaN, -Infinity, 0.3333333, 9]);
    const view = backing.subarray(1, 8); // byteOffset 4
    const buf = vectorToBuffer(view);
    expect(buf.byteLength).toBe(7 * 4);
    const back = bufferToVector(buf);
    expect(back).toHaveLength(7);
    expect(Buffer.from(back.buffer).equals(Buffer.from(view.buffer, view.byteOffset, view.byteLength))).toBe(true);
    expect(Object.is(back[1], -0)).toBe(true);
    expect(Number.isNaN(back[4])).toBe(true);
  });

  it('reads blobs that start at an unaligned offset', () => {
    const bytes = vectorToBuffer(new Float32Array([1.5, -2.25]));
    const unaligned = Buffer.concat([Buffer.from([0xff]), bytes]).subarray(1);
    expect(unaligned.byteOffset % 4).not.toBe(0);
    expect(Array.from(bufferToVector(unaligned))).toEqual([1.5, -2.25]);
  });

  it('rejects a blob that is not a whole number of floats', () => {
    expect(() => bufferToVector(Buffer.alloc(6))).toThrow(/not a Float32 array/);
  });
});

describe('EmbeddingCache', () => {
  it('stores and reads vectors per model across chunked IN queries', () => {
    const cache = new EmbeddingCache(db);
    const entries: [string, Float32Array][] = Array.from({ length: 1203 }, (_, i) => [`h${i}`, new Float32Array([i, i / 7, -i])]);
    expect(cache.putMany('m1', entries)).toBe(1203);
    cache.putMany('m2', [['h0', new Float32Array([42, 42])]]);

    const got = cache.getMany('m1', [...entries.map(([h]) => h), 'absent']);
    expect(got.size).toBe(1203);
    expect(got.has('absent')).toBe(false);
    expect(Array.from(got.get('h1000')!)).toEqual(Array.from(new Float32Array([1000, 1000 / 7, -1000])));
    expect(Array.from(cache.getMany('m2', ['h0', 'h1']).get('h0')!)).toEqual([42, 42]);
    expect(cache.count('m1')).toBe(1203);
    expect(cache.getMany('m1', [])).toEqual(new Map());
  });

  it('replaces an existing entry', () => {
    const cache = new EmbeddingCache(db);
    cache.putMany('m', [['h', new Float32Array([1])]]);
    cache.putMany('m', [['h', new Float32Array([2, 3])]]);
    expect(Array.from(cache.getMany('m', ['h']).get('h')!)).toEqual([2, 3]);
  });

  it('treats a row whose blob disagrees with its dim as a miss', () => {
    db.prepare('INSERT INTO embedding_cache (model_id, text_hash, dim, vector) VALUES (?, ?, ?, ?)').run(
      'm',
      'bad',
      5,
      vectorToBuffer(new Float32Array([1, 2])),
    );
    expect(new EmbeddingCache(db).getMany('m', ['bad']).size).toBe(0);
  });
});

describe('embedWithCache', () => {
  const items = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ hash: `h${i + from}`, text: `text ${i + from}` }));

  it('embeds misses in batches, then serves everything from the cache', async () => {
    const cache = new EmbeddingCache(db);
    const e = new CountingEmbedder(2);
    const ticks: number[] = [];
    const first = await embedWithCache(e, cache, items(5), { onProgress: (n) => ticks.push(n) });
    expect(first.stats).toEqual({ hits: 0, misses: 5 });
    expect(e.calls.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(ticks).toEqual([2, 2, 1]);
    expect(first.vectors.size).toBe(5);

    e.calls = [];
    ticks.length = 0;
    const second = await embedWithCache(e, cache, items(5), { onProgress: (n) => ticks.push(n) });
    expect(second.stats).toEqual({ hits: 5, misses: 0 });
    expect(e.calls).toEqual([]);
    expect(ticks).toEqual([5]);
    for (const [h, v] of first.vectors) expect(Array.from(second.vectors.get(h)!)).toEqual(Array.from(v));
  });

  it('embeds only the misses when some are cached', async () => {
    const cache = new EmbeddingCache(db);
    const e = new CountingEmbedder(10);
    await embedWithCache(e, cache, items(3));
    e.calls = [];
    const r = await embedWithCache(e, cache, items(5));
    expect(r.stats).toEqual({ hits: 3, misses: 2 });
    expect(e.calls).toEqual([['text 3', 'text 4']]);
    expect(r.vectors.size).toBe(5);
  });

  it('embeds a repeated hash once and counts progress per item', async () => {
    const cache = new EmbeddingCache(db);
    const e = new CountingEmbedder(10);
    const ticks: number[] = [];
    const dup = [...items(2), { hash: 'h0', text: 'text 0' }];
    const r = await embedWithCache(e, cache, dup, { onProgress: (n) => ticks.push(n) });
    expect(e.calls).toEqual([['text 0', 'text 1']]);
    expect(r.stats).toEqual({ hits: 0, misses: 2 });
    expect(ticks.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('keeps completed batches in the cache when a later batch fails', async () => {
    const cache = new EmbeddingCache(db);
    const e = new CountingEmbedder(2);
    e.failOnCall = 2;
    await expect(embedWithCache(e, cache, items(5))).rejects.toThrow('embedder crashed');
    expect(cache.count(e.id)).toBe(2);
    e.failOnCall = 0;
    e.calls = [];
    const r = await embedWithCache(e, cache, items(5));
    expect(r.stats).toEqual({ hits: 2, misses: 3 });
    expect(e.calls.flat()).toEqual(['text 2', 'text 3', 'text 4']);
  });

  it('honours an explicit batchSize over the embedder default', async () => {
    const cache = new EmbeddingCache(db);
    const e = new CountingEmbedder(2);
    await embedWithCache(e, cache, items(5), { batchSize: 4 });
    expect(e.calls.map((c) => c.length)).toEqual([4, 1]);
  });

  it('fails clearly when the embedder returns the wrong number of vectors', async () => {
    const cache = new EmbeddingCache(db);
    const e = new CountingEmbedder(2);
    e.embedPassages = async () => [new Float32Array([1])];
    await expect(embedWithCache(e, cache, items(2))).rejects.toThrow(/returned 1 vectors for 2 texts/);
    expect(cache.count(e.id)).toBe(0);
  });
});

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyModel } from '../../test/fixtures/tiny-model/build.ts';
import { loadConfig } from '../config/index.ts';
import { openStore } from '../store/index.ts';
import { EmbeddingCache, embedWithCache } from './cache.ts';
import { createEmbedder } from './factory.ts';
import { LocalEmbedder, type EmbeddingConfig } from './local.ts';
import { EmbedderUnavailableError } from './types.ts';

let tmp: string;
let modelsDir: string;

function settings(over: Partial<EmbeddingConfig> = {}): EmbeddingConfig {
  return {
    provider: 'local',
    model: 'tiny/e5',
    allow_remote: false,
    dtype: 'q8',
    pooling: 'mean',
    normalize: true,
    query_prefix: 'query: ',
    passage_prefix: 'passage: ',
    batch_size: 2,
    max_tokens: 512,
    openai: { base_url: 'http://127.0.0.1:1/v1', api_key: '', dimensions: 0, timeout_ms: 1000 },
    ...over,
  };
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0) / (norm(a) * norm(b));

async function loaded(over: Partial<EmbeddingConfig> = {}): Promise<LocalEmbedder> {
  const e = new LocalEmbedder(settings(over), modelsDir);
  await e.load();
  return e;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-emb-local-'));
  modelsDir = path.join(tmp, 'models');
  await buildTinyModel(path.join(modelsDir, 'tiny/e5'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('LocalEmbedder with the tiny model', () => {
  it('loads from the models folder without network and reports id and dimension', async () => {
    const e = await loaded();
    expect(e.id).toMatch(/^local:tiny\/e5@q8#[0-9a-f]{6}$/);
    expect(e.dimension).toBe(32);
    const [v] = await e.embedPassages(['apple banana']);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v.length).toBe(32);
    await e.dispose();
  });

  it('returns L2-normalised vectors when normalize is on, raw means when off', async () => {
    const on = await loaded();
    for (const v of await on.embedPassages(['apple banana cherry', '苹果公司发布新产品', ''])) {
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    const off = await loaded({ normalize: false });
    const [raw] = await off.embedPassages(['apple banana cherry']);
    expect(Math.abs(norm(raw) - 1)).toBeGreaterThan(0.01);
  });

  it('gives the same vectors in a batch (across several forward passes) as one by one', async () => {
    const e = await loaded({ batch_size: 2 });
    const texts = ['apple', 'the quick brown fox jumps over the lazy dog', '北京 上海', 'stock prices rise', 'xyzzy'];
    const batched = await e.embedPassages(texts);
    expect(batched).toHaveLength(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const [single] = await e.embedPassages([texts[i]]);
      for (let d = 0; d < single.length; d++) expect(batched[i][d]).toBeCloseTo(single[d], 6);
    }
  });

  it('applies the query prefix to queries and the passage prefix to passages', async () => {
    const e = await loaded();
    const q = await e.embedQuery('apple banana');
    const [p] = await e.embedPassages(['apple banana']);
    expect(cos(q, p)).toBeLessThan(0.999);
    // The query vector is exactly the embedding of "query: <text>" without any other prefix.
    const bare = await loaded({ passage_prefix: '' });
    const [manual] = await bare.embedPassages(['query: apple banana']);
    for (let d = 0; d < q.length; d++) expect(q[d]).toBeCloseTo(manual[d], 6);
    // Same prefixes → same vector.
    const same = await loaded({ query_prefix: '', passage_prefix: '' });
    const q2 = await same.embedQuery('apple banana');
    const [p2] = await same.embedPassages(['apple banana']);
    for (let d = 0; d < q2.length; d++) expect(q2[d]).toBeCloseTo(p2[d], 6);
  });

  it('places texts that share words closer than unrelated texts (en and zh)', async () => {
    const e = await loaded();
    const [a, b, c] = await e.embedPassages(['apple banana cherry juicy', 'apple banana cherry sweet', 'dog runs fast city']);
    expect(cos(a, b)).toBeGreaterThan(cos(a, c) + 0.2);
    const [x, y, z] = await e.embedPassages(['苹果公司发布新产品', '苹果公司的新产品', '今天北京天气很冷']);
    expect(cos(x, y)).toBeGreaterThan(cos(x, z) + 0.2);
  });

  it('counts content tokens with the model tokenizer (no special tokens, no prefix)', async () => {
    const e = await loaded();
    expect(e.countTokens('hello world')).toBe(2);
    expect(e.countTokens('xyzzy')).toBe(5); // x ##y ##z ##z ##y: WordPiece, not a word estimate
    expect(e.countTokens('苹果公司')).toBe(4);
    expect(e.countTokens('')).toBe(0);
  });

  it('truncates inputs to max_tokens', async () => {
    // 4 tokens = [CLS] apple banana cherry: the differing last words are cut off.
    const e = await loaded({ max_tokens: 4, passage_prefix: '' });
    const [a, b] = await e.embedPassages(['apple banana cherry grape', 'apple banana cherry dog']);
    expect(Array.from(a)).toEqual(Array.from(b));
    const full = await loaded({ passage_prefix: '' });
    const [c, d] = await full.embedPassages(['apple banana cherry grape', 'apple banana cherry dog']);
    expect(cos(c, d)).toBeLessThan(0.999);
  });

  it('uses the first token with cls pooling', async () => {
    // The tiny model has no attention, so the [CLS] position is the same for every text.
    const e = await loaded({ pooling: 'cls' });
    const [a, b] = await e.embedPassages(['apple', 'dog runs fast']);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(norm(a)).toBeCloseTo(1, 5);
  });

  it('fails load() with a clear error when pooling=none meets a per-token model', async () => {
    const e = new LocalEmbedder(settings({ pooling: 'none' }), modelsDir);
    await expect(e.load()).rejects.toThrow(/pooling=none.*set embedding.pooling to mean or cls/);
  });

  it('loads the fp32 file for dtype fp32', async () => {
    const e = await loaded({ dtype: 'fp32' });
    expect(e.id).toMatch(/^local:tiny\/e5@fp32#[0-9a-f]{6}$/);
    expect(e.dimension).toBe(32);
  });

  it('refuses to embed or count before load() and after dispose()', async () => {
    const e = new LocalEmbedder(settings(), modelsDir);
    await expect(e.embedPassages(['a'])).rejects.toThrow(/call load\(\) first/);
    expect(() => e.countTokens('a')).toThrow(/call load\(\) first/);
    await e.load();
    await e.dispose();
    await expect(e.embedQuery('a')).rejects.toThrow(/call load\(\) first/);
  });

  it('works with the embedding cache end to end', async () => {
    const e = await loaded();
    const db = openStore(':memory:');
    const cache = new EmbeddingCache(db);
    const items = [
      { hash: 'h1', text: 'apple banana' },
      { hash: 'h2', text: '苹果公司' },
    ];
    const first = await embedWithCache(e, cache, items);
    expect(first.stats).toEqual({ hits: 0, misses: 2 });
    const second = await embedWithCache(e, cache, items);
    expect(second.stats).toEqual({ hits: 2, misses: 0 });
    const [direct] = await e.embedPassages(['apple banana']);
    expect(Array.from(second.vectors.get('h1')!)).toEqual(Array.from(direct));
    db.close();
  });
});

describe('LocalEmbedder when the model is missing', () => {
  it('fails fast with remote off, naming the model, the folder and the missing files', async () => {
    const e = new LocalEmbedder(settings({ model: 'Xenova/multilingual-e5-small' }), modelsDir);
    const err = await e.load().then(
      () => null,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain('Xenova/multilingual-e5-small');
    expect(msg).toContain(modelsDir);
    expect(msg).toContain('onnx/model_quantized.onnx');
    expect(msg).toContain('embedding.allow_remote=false');
  });

  it('names the dtype-specific ONNX file when only that one is missing', async () => {
    const e = new LocalEmbedder(settings({ dtype: 'fp16' }), modelsDir);
    const err = await e.load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    expect((err as Error).message).toContain('onnx/model_fp16.onnx');
    expect((err as Error).message).not.toContain('tokenizer.json');
  });

  it('reports the network error when remote is on but the hub is unreachable', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));

    const e = new LocalEmbedder(settings({ model: 'acme/unreachable-model', allow_remote: true }), modelsDir, {
      remoteHost: `http://127.0.0.1:${port}`,
      remoteTimeoutMs: 2000,
    });
    const err = await e.load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toContain('acme/unreachable-model');
    expect(msg).toContain(`http://127.0.0.1:${port}`);
    expect(msg).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('gives up on a hub that accepts connections but never answers, after the timeout', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = http.createServer(() => {
      /* never respond */
    });
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const e = new LocalEmbedder(settings({ model: 'acme/silent-model', allow_remote: true }), modelsDir, {
        remoteHost: `http://127.0.0.1:${port}/`,
        remoteTimeoutMs: 300,
      });
      const err = await e.load().catch((x: unknown) => x);
      expect(err).toBeInstanceOf(EmbedderUnavailableError);
      expect((err as Error).message).toMatch(/no response from http:\/\/127\.0\.0\.1:\d+\/acme\/silent-model\/.* within 300 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('downloads a missing model from the hub into <data_dir>/models and loads it', async () => {
    const source = path.join(tmp, 'hub-source');
    await buildTinyModel(source, { dim: 16 });
    const requested: string[] = [];
    // Hub layout: /<model>/resolve/<revision>/<file>
    const hub = http.createServer((req, res) => {
      requested.push(req.url ?? '');
      const m = /^\/acme\/hub-model\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      const file = m ? path.join(source, decodeURIComponent(m[1])) : '';
      if (!m || !fs.existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      const body = fs.readFileSync(file);
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    const port = (hub.address() as AddressInfo).port;
    try {
      const e = new LocalEmbedder(settings({ model: 'acme/hub-model', allow_remote: true }), modelsDir, {
        remoteHost: `http://127.0.0.1:${port}/`,
      });
      expect(e.missingFiles()).toHaveLength(4);
      await e.load();
      expect(e.dimension).toBe(16);
      expect(requested.some((u) => u.endsWith('/onnx/model_quantized.onnx'))).toBe(true);
      // Cached where the local lookup searches: a second embedder with remote off loads it.
      expect(e.missingFiles()).toEqual([]);
      const offline = new LocalEmbedder(settings({ model: 'acme/hub-model', allow_remote: false }), modelsDir);
      await offline.load();
      expect(offline.dimension).toBe(16);
    } finally {
      await new Promise<void>((r) => hub.close(() => r()));
    }
  });
});

describe('createEmbedder', () => {
  it('builds the local provider over <data_dir>/models from config', async () => {
    const config = loadConfig({
      env: {},
      overrides: { data_dir: tmp, embedding: { provider: 'local', model: 'tiny/e5', allow_remote: false } },
    });
    const e = createEmbedder(config);
    expect(e).toBeInstanceOf(LocalEmbedder);
    await e.load();
    expect(e.dimension).toBe(32);
    expect(e.countTokens?.('hello world')).toBe(2);
  });

  it('builds the openai provider from config', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: tmp,
        embedding: { provider: 'openai', model: 'nomic-embed-text', openai: { base_url: 'http://10.0.0.5:11434/v1' } },
      },
    });
    expect(createEmbedder(config).id).toMatch(/^openai:10\.0\.0\.5:11434\/nomic-embed-text#[0-9a-f]{6}$/);
  });
});

describe('embedder id', () => {
  it('changes when a setting that changes passage vectors changes, not when only the query prefix does', async () => {
    const { passageSettingsTag } = await import('./id.ts');
    const base = { passage_prefix: 'passage: ', pooling: 'mean', normalize: true, max_tokens: 512, query_prefix: 'query: ' } as never as Parameters<typeof passageSettingsTag>[0];
    const tag = passageSettingsTag(base);
    expect(passageSettingsTag({ ...base, query_prefix: 'q: ' })).toBe(tag);
    for (const change of [{ passage_prefix: '' }, { pooling: 'cls' }, { normalize: false }, { max_tokens: 256 }]) {
      expect(passageSettingsTag({ ...base, ...change } as typeof base)).not.toBe(tag);
    }
  });
});

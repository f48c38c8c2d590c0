import http from 'node:http';
import { passageSettingsTag } from './id.ts';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddingConfig } from './local.ts';
import { OpenAIEmbedder } from './openai.ts';
import { EmbedderUnavailableError } from './types.ts';

interface Recorded {
  url: string;
  authorization: string | undefined;
  body: { model: string; input: string[]; encoding_format?: string; dimensions?: number };
}

type Script = (req: Recorded, n: number) => { status: number; body: unknown; headers?: Record<string, string> } | 'hang';

/** A scripted OpenAI-compatible /v1/embeddings server on loopback (test double). */
async function startServer(script: Script) {
  const requests: Recorded[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const rec: Recorded = { url: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(raw || '{}') };
      requests.push(rec);
      const answer = script(rec, requests.length);
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
    });
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  closers.push(close);
  return { requests, port, baseUrl: `http://127.0.0.1:${port}/v1` };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** Deterministic fake vector for a text: [length, code-point sum, 1, 2]. */
function vectorFor(text: string, dim = 4): number[] {
  const v = [text.length, [...text].reduce((s, c) => s + c.codePointAt(0)!, 0), 1, 2];
  return Array.from({ length: dim }, (_, i) => v[i % v.length] + Math.floor(i / v.length));
}

const okEmbeddings: Script = (req) => ({
  status: 200,
  body: {
    object: 'list',
    model: req.body.model,
    data: req.body.input.map((t, index) => ({ object: 'embedding', index, embedding: vectorFor(t, req.body.dimensions || 4) })),
    usage: { prompt_tokens: 1, total_tokens: 1 },
  },
});

function settings(baseUrl: string, over: Partial<EmbeddingConfig> = {}, openai: Partial<EmbeddingConfig['openai']> = {}): EmbeddingConfig {
  return {
    provider: 'openai',
    model: 'test-embed',
    allow_remote: false,
    dtype: 'q8',
    pooling: 'mean',
    normalize: false,
    query_prefix: 'query: ',
    passage_prefix: 'passage: ',
    batch_size: 2,
    max_tokens: 512,
    openai: { base_url: baseUrl, api_key: '', dimensions: 0, timeout_ms: 5000, ...openai },
    ...over,
  };
}

describe('OpenAIEmbedder', () => {
  it('discovers the dimension on load() and sends model, prefixed batches and float encoding', async () => {
    const srv = await startServer(okEmbeddings);
    const e = new OpenAIEmbedder(settings(srv.baseUrl));
    expect(e.id).toBe(`openai:127.0.0.1:${srv.port}/test-embed#${passageSettingsTag(settings(srv.baseUrl))}`);
    await e.load();
    expect(e.dimension).toBe(4);

    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await e.embedPassages(texts);
    const calls = srv.requests.slice(1); // first request is the load() probe
    expect(calls.map((r) => r.body.input)).toEqual([
      ['passage: a', 'passage: bb'],
      ['passage: ccc', 'passage: dddd'],
      ['passage: eeeee'],
    ]);
    for (const r of srv.requests) {
      expect(r.url).toBe('/v1/embeddings');
      expect(r.body.model).toBe('test-embed');
      expect(r.body.encoding_format).toBe('float');
      expect(r.body.dimensions).toBeUndefined();
      expect(r.authorization).toBe('Bearer not-needed');
    }
    expect(vectors.map((v) => Array.from(v))).toEqual(texts.map((t) => vectorFor('passage: ' + t)));

    const q = await e.embedQuery('what?');
    expect(srv.requests.at(-1)!.body.input).toEqual(['query: what?']);
    expect(Array.from(q)).toEqual(vectorFor('query: what?'));
  });

  it('sends dimensions and the API key when configured, and puts dims in the id', async () => {
    const srv = await startServer(okEmbeddings);
    const e = new OpenAIEmbedder(settings(srv.baseUrl, {}, { dimensions: 8, api_key: 'sk-test' }));
    expect(e.id).toMatch(new RegExp(`^openai:127\\.0\\.0\\.1:${srv.port}/test-embed@8#[0-9a-f]{6}$`));
    await e.load();
    expect(e.dimension).toBe(8);
    expect(srv.requests[0].body.dimensions).toBe(8);
    expect(srv.requests[0].authorization).toBe('Bearer sk-test');
  });

  it('fails load() when the server ignores the requested dimensions', async () => {
    const srv = await startServer((req) => okEmbeddings({ ...req, body: { ...req.body, dimensions: 4 } }, 0));
    const e = new OpenAIEmbedder(settings(srv.baseUrl, {}, { dimensions: 8 }));
    await expect(e.load()).rejects.toThrow(/returned 4-dimensional vectors .*embedding.openai.dimensions=8/);
  });

  it('orders results by index and L2-normalises when normalize is on', async () => {
    const srv = await startServer((req, n) => {
      const ok = okEmbeddings(req, n) as { status: number; body: { data: unknown[] } };
      ok.body.data.reverse();
      return ok;
    });
    const e = new OpenAIEmbedder(settings(srv.baseUrl, { normalize: true }));
    await e.load();
    const [a, b] = await e.embedPassages(['x', 'yyyy']);
    const expected = (t: string) => {
      const v = vectorFor('passage: ' + t);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    expected('x').forEach((x, i) => expect(a[i]).toBeCloseTo(x, 6));
    expected('yyyy').forEach((x, i) => expect(b[i]).toBeCloseTo(x, 6));
  });

  it('retries a 500 and then fails with a clear error', async () => {
    const srv = await startServer(() => ({
      status: 500,
      body: { error: { message: 'model crashed', type: 'server_error' } },
      headers: { 'retry-after-ms': '1' },
    }));
    const e = new OpenAIEmbedder(settings(srv.baseUrl));
    const err = await e.load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    expect((err as Error).message).toContain(`embedding endpoint ${srv.baseUrl}`);
    expect((err as Error).message).toMatch(/HTTP 500.*model crashed/);
    expect(srv.requests).toHaveLength(3); // 1 + maxRetries 2
  });

  it('recovers when a retry succeeds', async () => {
    const srv = await startServer((req, n) =>
      n === 1 ? { status: 503, body: { error: { message: 'busy' } }, headers: { 'retry-after-ms': '1' } } : okEmbeddings(req, n),
    );
    const e = new OpenAIEmbedder(settings(srv.baseUrl));
    await e.load();
    expect(e.dimension).toBe(4);
    expect(srv.requests).toHaveLength(2);
  });

  it('explains a rejected API key without retrying', async () => {
    const srv = await startServer(() => ({ status: 401, body: { error: { message: 'invalid key' } } }));
    const err = await new OpenAIEmbedder(settings(srv.baseUrl)).load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    expect((err as Error).message).toMatch(/HTTP 401.*api_key/);
    expect(srv.requests).toHaveLength(1);
  });

  it('reports an unreachable endpoint as EmbedderUnavailableError', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const e = new OpenAIEmbedder(settings(`http://127.0.0.1:${port}/v1`), { maxRetries: 0 });
    const err = await e.load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    expect((err as Error).message).toContain(`http://127.0.0.1:${port}/v1`);
    expect((err as Error).message).toMatch(/unreachable.*base_url/);
  });

  it('times out on an endpoint that never answers', async () => {
    const srv = await startServer(() => 'hang');
    const e = new OpenAIEmbedder(settings(srv.baseUrl, {}, { timeout_ms: 200 }), { maxRetries: 0 });
    const err = await e.load().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderUnavailableError);
    expect((err as Error).message).toMatch(/unreachable.*timed out/i);
  });

  it('rejects a response with the wrong number of embeddings', async () => {
    const srv = await startServer((req, n) => {
      const ok = okEmbeddings(req, n) as { status: number; body: { data: unknown[] } };
      if (n > 1) ok.body.data.pop();
      return ok;
    });
    const e = new OpenAIEmbedder(settings(srv.baseUrl));
    await e.load();
    await expect(e.embedPassages(['a', 'b'])).rejects.toThrow(/returned 1 embeddings for 2 inputs/);
  });

  it('refuses to embed before load()', async () => {
    const e = new OpenAIEmbedder(settings('http://127.0.0.1:1/v1'));
    await expect(e.embedPassages(['a'])).rejects.toThrow(/call load\(\) first/);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpReranker } from './http.ts';
import { RerankerUnavailableError } from './types.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

/** A loopback server answering with `reply(body)`; records the requests it got. */
async function serve(reply: (body: Record<string, unknown>, req: http.IncomingMessage) => { status?: number; json?: unknown; raw?: string; delayMs?: number }) {
  const seen: { body: Record<string, unknown>; auth: string | undefined; url: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      seen.push({ body, auth: req.headers.authorization, url: req.url });
      const r = reply(body, req);
      setTimeout(() => {
        res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
        res.end(r.raw ?? JSON.stringify(r.json));
      }, r.delayMs ?? 0);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rerank`, seen };
}

// Scores = number of query words in the passage: easy to reason about.
const overlap = (q: string, p: string) => q.split(' ').filter((w) => p.includes(w)).length;

describe('HttpReranker', () => {
  it('speaks the TEI format and puts scores back in passage order', async () => {
    const { url, seen } = await serve((b) => {
      const texts = b.texts as string[];
      // TEI answers sorted by score, best first.
      return { json: texts.map((t, index) => ({ index, score: overlap(b.query as string, t) })).sort((x, y) => y.score - x.score) };
    });
    const r = new HttpReranker({ url, api: 'tei', model: '', api_key: '' });
    await r.load();
    expect(await r.score('red apple', ['green pear', 'red apple pie', 'apple'])).toEqual([0, 2, 1]);
    expect(seen[0].body).toMatchObject({ query: 'red apple', texts: ['green pear', 'red apple pie', 'apple'] });
    expect(seen[0].auth).toBeUndefined();
  });

  it('speaks the Cohere/Jina/vLLM format with model and bearer key', async () => {
    const { url, seen } = await serve((b) => ({
      json: { id: 'x', results: (b.documents as string[]).map((d, index) => ({ index, relevance_score: overlap(b.query as string, d) / 10 })).reverse() },
    }));
    const r = new HttpReranker({ url, api: 'cohere', model: 'BAAI/bge-reranker-v2-m3', api_key: 'sk-test' });
    expect(await r.score('red apple', ['green pear', 'red apple pie'])).toEqual([0, 0.2]);
    expect(seen[0].body).toMatchObject({ model: 'BAAI/bge-reranker-v2-m3', query: 'red apple', documents: ['green pear', 'red apple pie'], top_n: 2 });
    expect(seen[0].auth).toBe('Bearer sk-test');
    expect(r.id).toContain('BAAI/bge-reranker-v2-m3');
  });

  it('turns every broken answer into an error with the reason, never into silent zeros', async () => {
    const cases: Array<[ReturnType<Parameters<typeof serve>[0]>, RegExp]> = [
      [{ status: 503, raw: 'model loading' }, /HTTP 503: model loading/],
      [{ raw: '<html>' }, /non-JSON/],
      [{ json: { error: 'x' } }, /unexpected shape/],
      [{ json: [{ index: 0, score: 1 }] }, /scored 1 of 2 passages/],
      [{ json: [{ index: 5, score: 1 }] }, /malformed entry/],
      [{ json: [{ index: 0, score: 'high' }, { index: 1, score: 1 }] }, /malformed entry/],
    ];
    for (const [answer, message] of cases) {
      const { url } = await serve(() => answer);
      const r = new HttpReranker({ url, api: 'tei', model: '', api_key: '' });
      await expect(r.score('q', ['a', 'b'])).rejects.toThrow(message);
    }
    const down = new HttpReranker({ url: 'http://127.0.0.1:9/rerank', api: 'tei', model: '', api_key: '' });
    await expect(down.score('q', ['a'])).rejects.toThrow(RerankerUnavailableError);
    await expect(new HttpReranker({ url: 'ftp://x', api: 'tei', model: '', api_key: '' }).load()).rejects.toThrow(/http\(s\) URL/);
  });

  it('aborts a slow request when the caller gives up', async () => {
    const { url } = await serve((b) => ({ json: (b.texts as string[]).map((_, index) => ({ index, score: 1 })), delayMs: 10_000 }));
    const r = new HttpReranker({ url, api: 'tei', model: '', api_key: '' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t = performance.now();
    await expect(r.score('q', ['a'], ac.signal)).rejects.toThrow(/unreachable/);
    // Well before the server's 10 s answer: the request was cut off, not waited out.
    expect(performance.now() - t).toBeLessThan(8000);
  });
});

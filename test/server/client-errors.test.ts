import net from 'node:net';
import zlib from 'node:zlib';
import createError from 'http-errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterError } from '../../src/retrieval/filters.ts';
import { RetrievalRequestError } from '../../src/retrieval/hybrid.ts';
import { toHttpError } from '../../serve/middleware/errors.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

// Every client error is a 4xx JSON in the OpenAI error shape — including the ones raised by
// body decoding, URL decoding, the retrieval core and Node's own HTTP parser.

let t: TestServer;
beforeAll(async () => {
  // The real retriever: its own filter validation must not turn into a 500 either.
  t = await startTestServer({ realRetriever: true, overrides: { auth: { max_body_bytes: 4096 } } });
});
afterAll(async () => {
  await t.close();
});

async function expectError(res: Response, status: number, code: string, param: string | null = null) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(body).toMatchObject({ error: { type: 'invalid_request_error', code, param } });
  expect(typeof body.error.message).toBe('string');
}

const send = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${t.baseURL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body as BodyInit });

/** Raw bytes to the server; resolves with the whole reply. */
function raw(payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(t.server.port, '127.0.0.1', () => socket.write(payload));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (data += c));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

function parseRaw(reply: string): { status: number; headers: string; body: unknown } {
  const [head, body] = reply.split('\r\n\r\n', 2);
  return { status: Number(head!.split(' ')[1]), headers: head!, body: JSON.parse(body!) };
}

describe('date ranges', () => {
  it('refuses filters.from after filters.to with a 400 naming the field, in retrieve and in chat', async () => {
    await expectError(await send('/retrieve', JSON.stringify({ query: 'acme', filters: { from: '2026-02-01', to: '2026-01-01' } })), 400, 'invalid_request', 'filters.from');
    await expectError(
      await send('/chat/completions', JSON.stringify({ model: 'kb-assistant', messages: [{ role: 'user', content: 'acme' }], kb: { filters: { from: '2026-02-01T00:00:00Z', to: '2026-01-31' } } })),
      400,
      'invalid_request',
      'kb.filters.from',
    );
    // Same day, date-only: `to` is the end of that day, as the retriever reads it.
    expect((await send('/retrieve', JSON.stringify({ query: 'acme', filters: { from: '2026-01-01T12:00:00Z', to: '2026-01-01' } }))).status).toBe(200);
  });

  it('maps the retrieval core’s own parameter errors to 400, and only those', () => {
    expect(toHttpError(new FilterError('filters.from (b) is after filters.to (a)'))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(toHttpError(new RetrievalRequestError('topK must be an integer'))).toMatchObject({ status: 400 });
    expect(toHttpError(createError(422, 'nope'))).toMatchObject({ status: 422, type: 'invalid_request_error' });
    expect(toHttpError(new Error('database is locked'))).toBeNull();
    expect(toHttpError(createError(503, 'down'))).toBeNull();
    expect(toHttpError('a string')).toBeNull();
  });
});

describe('body decoding', () => {
  const json = JSON.stringify({ query: 'acme revenue' });

  it('accepts a gzip body that is gzip', async () => {
    expect((await send('/retrieve', zlib.gzipSync(json), { 'content-encoding': 'gzip' })).status).toBe(200);
  });

  it('refuses a body that is not in its declared Content-Encoding with 400', async () => {
    await expectError(await send('/retrieve', json, { 'content-encoding': 'gzip' }), 400, 'invalid_content_encoding');
    await expectError(await send('/retrieve', json, { 'content-encoding': 'deflate' }), 400, 'invalid_content_encoding');
    await expectError(await send('/retrieve', json, { 'content-encoding': 'br' }), 400, 'invalid_content_encoding');
    // Valid gzip header, truncated stream.
    await expectError(await send('/retrieve', zlib.gzipSync(json).subarray(0, 20), { 'content-encoding': 'gzip' }), 400, 'invalid_content_encoding');
  });

  it('refuses an unknown encoding or charset with 415 and a decompression bomb with 413', async () => {
    await expectError(await send('/retrieve', json, { 'content-encoding': 'zstd-ish' }), 415, 'encoding_unsupported');
    await expectError(await send('/retrieve', json, { 'content-type': 'application/json; charset=klingon' }), 415, 'charset_unsupported');
    const bomb = zlib.gzipSync(JSON.stringify({ query: 'a'.repeat(1_000_000) })); // ~1 KB compressed, 1 MB inflated
    expect(bomb.length).toBeLessThan(4096);
    await expectError(await send('/retrieve', bomb, { 'content-encoding': 'gzip' }), 413, 'request_too_large');
  });
});

describe('URLs and the HTTP parser', () => {
  it('refuses malformed percent-encoding in a path parameter with 400', async () => {
    await expectError(await fetch(`${t.baseURL}/models/%ff`), 400, 'invalid_url');
    await expectError(await fetch(`${t.baseURL}/models/%E0%A4%A`), 400, 'invalid_url');
    // Well-formed but unknown: still the 404 it was.
    expect((await fetch(`${t.baseURL}/models/%C3%A9`)).status).toBe(404);
  });

  it('answers oversized headers with 431 in the OpenAI shape', async () => {
    const reply = parseRaw(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(reply.status).toBe(431);
    expect(reply.headers).toMatch(/content-type: application\/json/i);
    expect(reply.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'headers_too_large', param: null } });
  });

  it('answers a malformed request with 400 in the OpenAI shape', async () => {
    for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'POST /v1/retrieve HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello']) {
      const reply = parseRaw(await raw(bad));
      expect(reply.status, bad).toBe(400);
      expect(reply.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'malformed_request' } });
    }
    // The server is fine afterwards.
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  });
});

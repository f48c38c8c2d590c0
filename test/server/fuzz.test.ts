import net from 'node:net';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/harness.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

// Property-based fuzzing of every route: generated requests — malformed JSON, wrong types, huge
// and unicode-edge values, odd headers, encodings and paths — must never get a 5xx; every error
// is JSON in the OpenAI shape; /healthz answers after every batch. A failure prints the
// fast-check seed and the shrunk request; rerun it with FUZZ_SEED=<seed>.

const RUNS = Number(process.env.FUZZ_RUNS ?? 300); // requests per route
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

let upstream: ScriptedUpstream;
let t: TestServer;
let key: string;
beforeAll(async () => {
  upstream = await new ScriptedUpstream().start();
  upstream.script = (_req, i) => ({ content: i % 2 ? 'Acme reported 12 billion yuan [1].' : '<think>hmm</think>OK [1]' });
  t = await startTestServer({
    upstream,
    keys: [{ name: 'fuzz', scopes: ['chat', 'retrieve', 'admin'], groups: [] }],
    realRetriever: true, // the analyzer and the retrieval core's own validation see every input
    overrides: { auth: { rate_limit: { requests_per_minute: 1_000_000, burst: 100_000 }, max_body_bytes: 262_144 } },
    server: { startIngestion: async () => ({ run_id: 1 }) },
  });
  key = t.secrets[0]!;
});
afterAll(async () => {
  await t?.close();
  await upstream?.close();
});

// ── value generators ─────────────────────────────────────────────────────────────────────────

const EDGE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  'a\udfffb',
  '\u202eevil',
  '\ufeff',
  'e\u0301\u0301\u0301',
  '💥'.repeat(300),
  'a'.repeat(70_000),
  `${'b'.repeat(9_000)}s`,
  '中'.repeat(40_000),
  '華為手機 價格 ',
  '<html><script>alert(1)</script>',
  '%ff%fe',
  '../../etc/passwd',
  'NaN',
  '{"a":',
  'null',
  '2026-13-45',
  '9999-12-31T23:59:59Z',
  '0000-01-01',
];
const edgeString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_STRINGS) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min: 100, max: 20_000 })).map(([s, n]) => s.repeat(n)) },
);
const edgeNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1e308, -0, 2 ** 53 + 1, 0.5, 1e-300));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  edgeString,
  edgeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(edgeString, { maxLength: 5 }),
  fc.dictionary(edgeString, edgeString, { maxKeys: 4 }),
);
/** Optional field: absent, a plausible value, or anything. */
const field = <T>(plausible: fc.Arbitrary<T>) => fc.option(fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: anyValue }), { nil: undefined });

const filters = fc.record(
  {
    kinds: field(fc.array(fc.constantFrom('news', 'comment', 'post', 'blog'), { maxLength: 4 })),
    from: field(fc.constantFrom('2026-01-01', '2024-02-30', '2030-01-01T00:00:00Z', 'yesterday')),
    to: field(fc.constantFrom('2025-01-01', '2026-12-31', '1999-01-01')),
    tags: field(fc.array(edgeString, { maxLength: 3 })),
    sources: field(fc.array(edgeString, { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const message = fc.record(
  {
    role: field(fc.constantFrom('user', 'assistant', 'system', 'developer', 'tool', 'USER')),
    content: field(fc.oneof(edgeString, fc.array(fc.record({ type: fc.constantFrom('text', 'image_url'), text: field(edgeString) }), { maxLength: 3 }))),
    name: field(edgeString),
  },
  { requiredKeys: [] },
);
const chatBody = fc.record(
  {
    model: field(fc.constantFrom('kb-assistant', 'gpt-4', '')),
    messages: field(fc.array(message, { maxLength: 6 })),
    stream: field(fc.boolean()),
    stream_options: field(fc.record({ include_usage: field(fc.boolean()) }, { requiredKeys: [] })),
    max_tokens: field(fc.integer({ min: -5, max: 10_000 })),
    temperature: field(fc.double({ min: -1, max: 3, noNaN: true })),
    top_p: field(fc.double({ min: -1, max: 2, noNaN: true })),
    stop: field(fc.oneof(edgeString, fc.array(edgeString, { maxLength: 6 }))),
    n: field(fc.integer({ min: 0, max: 3 })),
    tools: field(fc.array(anyValue, { maxLength: 2 })),
    kb: field(fc.record({ top_k: field(fc.integer({ min: -1, max: 100 })), filters: field(filters), retrieval: field(fc.boolean()), mode: field(fc.constantFrom('hybrid', 'dense', 'bm25', 'magic')) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);
const retrieveBody = fc.record(
  {
    query: field(edgeString),
    top_k: field(fc.integer({ min: -1, max: 200 })),
    filters: field(filters),
    mode: field(fc.constantFrom('hybrid', 'dense', 'bm25', '')),
  },
  { requiredKeys: [] },
);

// ── request generators ───────────────────────────────────────────────────────────────────────

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

/** How the body is put on the wire: JSON (sometimes broken), compressed (sometimes lying), other types. */
const encodeBody = (value: fc.Arbitrary<unknown>) =>
  fc.tuple(value, fc.constantFrom('json', 'json', 'json', 'truncated', 'gzip', 'gzip-lie', 'deflate', 'br-lie', 'unknown-encoding', 'text', 'latin1', 'utf16', 'bad-charset', 'deep', 'raw')).map(([v, how]) => {
    const json = JSON.stringify(v) ?? 'undefined';
    const ct = { 'content-type': 'application/json' };
    switch (how) {
      case 'truncated':
        return { headers: ct, body: json.slice(0, Math.max(1, Math.floor(json.length / 2))) };
      case 'gzip':
        return { headers: { ...ct, 'content-encoding': 'gzip' }, body: new Uint8Array(zlib.gzipSync(json)) };
      case 'gzip-lie':
        return { headers: { ...ct, 'content-encoding': 'gzip' }, body: json };
      case 'deflate':
        return { headers: { ...ct, 'content-encoding': 'deflate' }, body: new Uint8Array(zlib.deflateSync(json)) };
      case 'br-lie':
        return { headers: { ...ct, 'content-encoding': 'br' }, body: json };
      case 'unknown-encoding':
        return { headers: { ...ct, 'content-encoding': 'x-snappy' }, body: json };
      case 'text':
        return { headers: { 'content-type': 'text/plain' }, body: json };
      case 'latin1':
        return { headers: { 'content-type': 'application/json; charset=latin1' }, body: json };
      case 'utf16':
        return { headers: { 'content-type': 'application/json; charset=utf-16' }, body: new Uint8Array(Buffer.from(json, 'utf16le')) };
      case 'bad-charset':
        return { headers: { 'content-type': 'application/json; charset=klingon' }, body: json };
      case 'deep':
        return { headers: ct, body: `${'['.repeat(20_000)}${']'.repeat(20_000)}` };
      case 'raw':
        return { headers: ct, body: new Uint8Array(Buffer.from(typeof v === 'string' ? v : json, 'latin1')) };
      default:
        return { headers: ct, body: json };
    }
  });

const authHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant('valid') },
  { weight: 1, arbitrary: fc.constantFrom('', 'Bearer ', 'Bearer kb_nope', 'Basic YTpi', 'bearer VALID', 'Bearer VALID extra') },
  { weight: 1, arbitrary: edgeString.filter((s) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s)).map((s) => s.slice(0, 500)) },
);

const extraHeaders = fc.dictionary(
  fc.constantFrom('x-request-id', 'accept', 'accept-encoding', 'user-agent', 'x-forwarded-for', 'openai-organization', 'x-kb-whatever'),
  fc.oneof(fc.constantFrom('*/*', 'gzip', '127.0.0.1', ''), fc.string({ unit: 'binary-ascii', maxLength: 300 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, ''))),
  { maxKeys: 3 },
);

const pathNoise = fc.constantFrom('', '?', '?limit=5', '?limit=abc&limit=2', '?a[b]=1', '?%ff', '#frag', '/', '//', '?stream=true');

function request(method: fc.Arbitrary<string>, path: fc.Arbitrary<string>, body: fc.Arbitrary<unknown> | null): fc.Arbitrary<FuzzRequest> {
  return fc.record({ method, path, noise: pathNoise, auth: authHeader, extra: extraHeaders, enc: body ? encodeBody(body) : fc.constant(null) }).map(({ method, path, noise, auth, extra, enc }) => {
    const headers: Record<string, string> = { ...extra, ...(enc?.headers ?? {}) };
    if (auth === 'valid') headers.authorization = `Bearer ${key}`;
    else if (auth.includes('VALID')) headers.authorization = auth.replace('VALID', key);
    else if (auth) headers.authorization = auth;
    const withBody = enc && method !== 'GET' && method !== 'HEAD';
    return { method, path: `${path}${noise}`, headers, body: withBody ? enc.body : undefined };
  });
}

const post = fc.constantFrom('POST', 'POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
const get = fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS');
const segment = fc.oneof(
  fc.constantFrom('kb-assistant', 'gpt-4', '%ff', '%E0%A4%A', '%C3%A9', '%00', '..', '%2e%2e', '%25', 'a%2Fb', 'ü', '%F0%9F%92%A5'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => encodeURIComponent(s)),
  fc.string({ maxLength: 2000 }).map((s) => encodeURIComponent(s)),
);

const ROUTES: Array<[string, fc.Arbitrary<FuzzRequest>]> = [
  ['POST /v1/chat/completions', request(post, fc.constant('/v1/chat/completions'), fc.oneof({ weight: 4, arbitrary: chatBody }, { weight: 1, arbitrary: anyValue }))],
  ['POST /v1/retrieve', request(post, fc.constant('/v1/retrieve'), fc.oneof({ weight: 4, arbitrary: retrieveBody }, { weight: 1, arbitrary: anyValue }))],
  ['GET /v1/models[/:id]', request(get, fc.oneof(fc.constant('/v1/models'), segment.map((s) => `/v1/models/${s}`)), null)],
  ['admin routes', request(get, fc.constantFrom('/v1/admin/runs', '/v1/admin/index', '/v1/admin/ingest'), anyValue)],
  ['health routes', request(get, fc.constantFrom('/healthz', '/readyz', '/metrics'), null)],
  ['unknown routes', request(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), fc.oneof(segment.map((s) => `/${s}`), segment.map((s) => `/v1/${s}`), segment.map((s) => `/v1/chat/${s}`)), anyValue)],
];

// ── assertions ───────────────────────────────────────────────────────────────────────────────

function expectOpenAIError(body: unknown, where: string): void {
  const e = (body as { error?: Record<string, unknown> })?.error;
  expect(e, where).toBeTypeOf('object');
  expect(typeof e!.message, where).toBe('string');
  expect(typeof e!.type, where).toBe('string');
  expect(e!.param === null || typeof e!.param === 'string', where).toBe(true);
  expect(e!.code === null || typeof e!.code === 'string', where).toBe(true);
}

async function check(req: FuzzRequest): Promise<void> {
  const res = await fetch(`${t.server.url}${req.path}`, { method: req.method, headers: req.headers, body: req.body as BodyInit | undefined, redirect: 'manual' });
  const text = await res.text();
  const where = `${req.method} ${req.path.slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status >= 400 && req.method !== 'HEAD') {
    expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
    expectOpenAIError(JSON.parse(text), where);
  }
}

async function expectAlive(): Promise<void> {
  const res = await fetch(`${t.server.url}/healthz`);
  expect(res.status).toBe(200);
}

describe('fuzzing every route', () => {
  for (const [name, arb] of ROUTES) {
    it(`${name}: ${RUNS} generated requests, no 5xx, errors in the OpenAI shape`, async () => {
      await fc.assert(fc.asyncProperty(arb, check), { numRuns: RUNS, seed, endOnFailure: true });
      await expectAlive();
    });
  }

  it('malformed HTTP on the wire: no 5xx, errors in the OpenAI shape, server alive', async () => {
    const token = fc.string({ unit: 'binary-ascii', maxLength: 40 });
    const line = fc.oneof(
      fc.constantFrom(
        'GET /healthz HTTP/1.1',
        'POST /v1/retrieve HTTP/1.1',
        'GET /v1/models/%ff HTTP/1.1',
        'GET / HTTP/9.9',
        'BREW /coffee HTCPCP/1.0',
        'GET  /healthz  HTTP/1.1',
        'GET /healthz',
        '',
      ),
      token,
    );
    const header = fc.oneof(
      fc.constantFrom('Host: x', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 1e3', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Bad Header', ': empty', `X-Big: ${'a'.repeat(20_000)}`, 'Content-Type: application/json'),
      fc.tuple(token, token).map(([k, v]) => `${k}: ${v}`),
    );
    const wire = fc.record({ line, headers: fc.array(header, { maxLength: 5 }), body: fc.oneof(fc.constant(''), token, fc.constant('zz\r\nnot-chunked\r\n0\r\n\r\n')) });
    await fc.assert(
      fc.asyncProperty(wire, async (w) => {
        const reply = await rawExchange(`${w.line}\r\n${w.headers.join('\r\n')}\r\n\r\n${w.body}`);
        if (!reply) return; // the server may close a garbage connection without a word
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1]);
        const where = JSON.stringify(w).slice(0, 300) + ' → ' + reply.slice(0, 300);
        expect(status, where).toBeGreaterThanOrEqual(100);
        expect(status, where).toBeLessThan(500);
        if (status >= 400) {
          const { head, body } = firstResponse(reply);
          expect(head, where).toMatch(/content-type: application\/json/i);
          expectOpenAIError(JSON.parse(Buffer.from(body, 'latin1').toString('utf8')), where);
        }
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );
    await expectAlive();
  });
});

/** The head and body of the first response in `reply` (more may follow: pipelined requests). */
function firstResponse(reply: string): { head: string; body: string } {
  const end = reply.indexOf('\r\n\r\n');
  const head = reply.slice(0, end);
  const rest = reply.slice(end + 4);
  const length = /content-length: (\d+)/i.exec(head);
  if (length) return { head, body: rest.slice(0, Number(length[1])) };
  if (/transfer-encoding: chunked/i.test(head)) {
    const sizeEnd = rest.indexOf('\r\n');
    return { head, body: rest.slice(sizeEnd + 2, sizeEnd + 2 + parseInt(rest.slice(0, sizeEnd), 16)) };
  }
  return { head, body: rest };
}

/** Sends raw bytes on a fresh connection; resolves with the first response (or '' if none). */
function rawExchange(payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(t.server.port, '127.0.0.1', () => socket.end(payload, 'latin1'));
    let data = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data);
    };
    // A request that is incomplete but valid so far (e.g. a body shorter than its Content-Length) gets no reply: stop waiting.
    const timer = setTimeout(done, 300);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      data += c;
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

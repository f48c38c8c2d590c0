import { acquireLock } from '../../src/lock/index.ts';
import { describe, expect, it } from 'vitest';
import { collectStream, startTestServer, useScriptedUpstream, type TestServer } from './support/harness.ts';

const upstream = useScriptedUpstream();
let t: TestServer | null = null;

const ADMIN = [{ name: 'ops', scopes: ['admin' as const, 'chat' as const], groups: [] }];

describe('health, readiness, metrics, request ids', () => {
  it('reports liveness, readiness by store + index, and Prometheus metrics by route and retrieval leg', async () => {
    let loaded = false;
    let activeVersion: number | null = null;
    t = await startTestServer({ upstream, server: { indexStatus: () => ({ loaded, version: loaded ? 3 : null, activeVersion }) } });
    expect(await (await fetch(`${t.server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    // No index version yet (no embedding model): ready, serving BM25 only, and says so.
    const bm25Only = await fetch(`${t.server.url}/readyz`);
    expect(bm25Only.status).toBe(200);
    expect(await bm25Only.json()).toMatchObject({ status: 'ready', checks: { index: { ok: true, degraded: true, detail: expect.stringMatching(/BM25 only/) } } });
    // A version exists but is not loaded yet: BM25 answers meanwhile, so ready, and degraded.
    activeVersion = 3;
    const loading = await fetch(`${t.server.url}/readyz`);
    expect(loading.status).toBe(200);
    expect(await loading.json()).toMatchObject({ status: 'ready', degraded: true, checks: { store: { ok: true }, bm25: { ok: true }, index: { ok: true, state: 'loading' } } });
    loaded = true;
    const ready = await fetch(`${t.server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { index: { ok: true, version: 3 } } });

    await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue' }] });
    const text = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(text).toMatch(/kb_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} 1/);
    expect(text).toMatch(/kb_http_request_duration_seconds_count\{route="\/v1\/chat\/completions",method="POST"\} 1/);
    expect(text).toMatch(/kb_retrieval_leg_duration_seconds_count\{leg="bm25"\} 1/);
    expect(text).toMatch(/kb_upstream_duration_seconds_count\{assistant="kb-assistant",outcome="ok"\} 1/);
    expect(text).toMatch(/kb_llm_tokens_total\{assistant="kb-assistant",type="completion",source="upstream"\} 10/);
    expect(text).toMatch(/kb_chat_answers_total\{assistant="kb-assistant",mode="generated"\} 1/);
  });

  it('echoes a valid X-Request-Id and makes one otherwise', async () => {
    t = await startTestServer();
    const a = await fetch(`${t.server.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(a.headers.get('x-request-id')).toBe('abc-123');
    const b = await fetch(`${t.server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(b.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a 404 in the OpenAI shape', async () => {
    t = await startTestServer();
    const r = await fetch(`${t.baseURL}/nope`);
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: { type: 'not_found_error', code: 'unknown_route' } });
  });
});

describe('admin routes', () => {
  it('starts an ingestion run through the injected runner, refuses a second while one runs, lists runs and index status', async () => {
    let started = 0;
    t = await startTestServer({
      keys: ADMIN,
      server: {
        startIngestion: async () => {
          started++;
          acquireLock(t!.fixture.db, 'ingest', { ttlMs: 60_000 }); // a real run holds the ingest lock
          const info = t!.fixture.db.prepare("INSERT INTO ingest_runs (started_at, status, trigger) VALUES (?, 'running', 'api')").run(new Date().toISOString());
          return { run_id: Number(info.lastInsertRowid) };
        },
      },
    });
    const headers = { authorization: `Bearer ${t.secrets[0]}` };
    const first = await fetch(`${t.baseURL}/admin/ingest`, { method: 'POST', headers });
    expect(first.status).toBe(202);
    const { run_id } = (await first.json()) as { run_id: number };
    const second = await fetch(`${t.baseURL}/admin/ingest`, { method: 'POST', headers });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: { code: 'ingest_running', message: `Ingestion run ${run_id} is already running.` } });
    expect(started).toBe(1);

    const runs = (await (await fetch(`${t.baseURL}/admin/runs?limit=5`, { headers })).json()) as { data: Array<{ id: number; status: string; trigger: string }> };
    expect(runs.data[0]).toMatchObject({ id: run_id, status: 'running', trigger: 'api' });
    expect((await fetch(`${t.baseURL}/admin/runs?limit=0`, { headers })).status).toBe(400);

    t.fixture.db.prepare("INSERT INTO index_versions (model_id, dim, file, vectors, params, active) VALUES ('m', 4, 'index/v1.bin', 5, '{\"m\":16}', 1)").run();
    const idx = (await (await fetch(`${t.baseURL}/admin/index`, { headers })).json()) as Record<string, unknown>;
    expect(idx).toMatchObject({ versions: [{ model_id: 'm', active: true, params: { m: 16 } }], reader: { loaded: true }, store: { documents: 5, chunks: 5 } });
  });

  it('answers 501 when no ingestion runner was injected', async () => {
    t = await startTestServer({ keys: ADMIN });
    const r = await fetch(`${t.baseURL}/admin/ingest`, { method: 'POST', headers: { authorization: `Bearer ${t.secrets[0]}` } });
    expect(r.status).toBe(501);
    expect(await r.json()).toMatchObject({ error: { code: 'ingest_unavailable' } });
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight stream, then refuses new connections', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ chunks: ['one ', 'two ', 'three [1]'], chunkDelayMs: 100 });
    const stream = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue' }], stream: true });
    const collecting = collectStream(stream);
    const closing = t.server.close();
    const got = await collecting;
    expect(got.content).toBe('one two three [1]');
    await closing;
    await expect(fetch(`${t.server.url}/healthz`)).rejects.toThrow();
    t.fixture.cleanup();
    t = null;
  });
});

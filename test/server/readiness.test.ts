import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/keys.ts';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { makeGetVectors } from '../../src/vector/test-corpus.ts';
import { syncDenseIndex } from '../../src/vector/versions.ts';
import { startServer, type RunningServer } from '../../serve/main.ts';
import { createFixture, type Fixture } from './support/corpus.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

// Issue 10.8: ready means "can answer" (store + BM25); a degraded dense leg is reported, not a
// 503. With auth on, anonymous callers learn nothing internal from /readyz or /metrics.

let t: TestServer | null = null;
let real: { server: RunningServer; fixture: Fixture } | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
  if (real) {
    await real.server.close();
    real.fixture.cleanup();
    real = null;
  }
});

const UPSTREAM_URL = 'http://llm.internal.example:8000/v1';

describe('/readyz', () => {
  it('stays 200 with the dense leg degraded (fallback, BM25 only) and says why; 503 only when BM25 cannot answer', async () => {
    let st: Record<string, unknown> = { loaded: true, version: 2, activeVersion: 3, fallback: { activeVersion: 3, servingVersion: 2, reason: 'checksum mismatch' } };
    t = await startTestServer({ server: { indexStatus: () => ({ loaded: false, ...st }) as never } });
    const fb = await fetch(`${t.server.url}/readyz`);
    expect(fb.status).toBe(200);
    const body = await fb.json();
    expect(body).toMatchObject({ status: 'ready', degraded: true, checks: { index: { ok: true, degraded: true, state: 'fallback' } } });
    expect(body.checks.index.detail).toMatch(/version 3 failed verification \(checksum mismatch\); serving version 2.*kb index rebuild/);

    st = { loaded: false, version: null, activeVersion: 3, error: { version: 3, message: 'truncated' }, fallback: { activeVersion: 3, servingVersion: null, reason: 'truncated' } };
    const bm25 = await fetch(`${t.server.url}/readyz`);
    expect(bm25.status).toBe(200);
    expect(await bm25.json()).toMatchObject({ status: 'ready', degraded: true, checks: { index: { state: 'bm25_only', detail: expect.stringMatching(/serving BM25 only/) } } });

    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(/kb_dense_index_state\{state="bm25_only"\} 1/);
    expect(metrics).toMatch(/kb_dense_index_state\{state="ok"\} 0/);
    expect(metrics).toMatch(/kb_dense_index_version\{kind="active"\} 3/);
    expect(metrics).not.toMatch(/kb_dense_index_version\{kind="serving"\}/);

    t.fixture.db.exec('DROP TABLE chunks_fts'); // the leg every answer needs
    const broken = await fetch(`${t.server.url}/readyz`);
    expect(broken.status).toBe(503);
    expect(await broken.json()).toMatchObject({ status: 'not_ready', checks: { bm25: { ok: false } } });
  });

  it('turns not ready, naming the file and the recovery, when the WAL/SHM files are deleted under the running server', async () => {
    t = await startTestServer();
    expect((await fetch(`${t.server.url}/readyz`)).status).toBe(200);
    const store = path.join(t.fixture.dir, 'kb.sqlite');
    expect(fs.existsSync(`${store}-wal`)).toBe(true);
    fs.rmSync(`${store}-wal`);
    fs.rmSync(`${store}-shm`);
    const r = await fetch(`${t.server.url}/readyz`);
    expect(r.status).toBe(503);
    const body = await r.json();
    expect(body).toMatchObject({ status: 'not_ready', checks: { store: { ok: false } } });
    expect(body.checks.store.detail).toMatch(/kb\.sqlite-wal was deleted while this process had the store open.*Stop every kb process/);
  });

  it('with the real reader: a corrupt active file → 200, degraded, serving the older verified version', async () => {
    const fixture = createFixture();
    const model = 'local:test/e5@q8';
    const params = { m: 8, ef_construction: 40, ef_search: 40, keep_versions: 3 };
    const sync = () => syncDenseIndex({ db: fixture.db, dataDir: fixture.dir, modelId: model, dim: 8, params, getVectors: makeGetVectors(model, 8), rebuild: true });
    const v1 = await sync();
    const v2 = await sync();
    const file = path.join(fixture.dir, v2.file!);
    const b = fs.readFileSync(file);
    b.writeUInt32LE(0xfffffff0, 52);
    fs.writeFileSync(file, b);
    const config = loadConfig({ env: {}, overrides: { data_dir: fixture.dir, log: { level: 'silent' }, embedding: { provider: 'local', model: 'none/none', allow_remote: false } } });
    const server = await startServer(config, { db: fixture.db, log: silentLogger, port: 0, host: '127.0.0.1' });
    real = { server, fixture };
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      status: 'ready',
      degraded: true,
      checks: { index: { state: 'fallback', version: v1.version_id, activeVersion: v2.version_id, fallback: { servingVersion: v1.version_id } } },
    });
  });

  it('with auth on: anonymous and chat-only callers get no details; /metrics needs a metrics or admin key', async () => {
    t = await startTestServer({
      keys: [
        { name: 'app', scopes: ['chat'], groups: [] },
        { name: 'prometheus', scopes: ['metrics'], groups: [] },
      ],
      overrides: { upstreams: { internal: { base_url: UPSTREAM_URL, api_key: 'k', timeout_ms: 1000, max_retries: 0 } } },
      server: {
        indexStatus: () => ({ loaded: false, version: null, activeVersion: 4, error: { version: 4, file: `${t?.fixture.dir}/index/x-v4.hnsw`, message: `cannot read ${UPSTREAM_URL}` } }),
      },
    });
    const [chatKey, metricsKey] = t.secrets;
    for (const headers of [{}, { authorization: `Bearer ${chatKey}` }, { authorization: 'Bearer kb_wrong' }] as Record<string, string>[]) {
      const r = await fetch(`${t.server.url}/readyz`, { headers });
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(JSON.parse(text)).toEqual({ status: 'ready', degraded: true, checks: { store: { ok: true }, bm25: { ok: true }, index: { ok: true, degraded: true } } });
      expect(text).not.toContain('internal.example');
      expect(text).not.toContain(t.fixture.dir);
    }
    const detailed = await (await fetch(`${t.server.url}/readyz`, { headers: { authorization: `Bearer ${metricsKey}` } })).json();
    expect(detailed.checks.index).toMatchObject({ state: 'bm25_only', activeVersion: 4 });

    const anon = await fetch(`${t.server.url}/metrics`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { type: 'authentication_error', code: 'missing_api_key' } });
    const chat = await fetch(`${t.server.url}/metrics`, { headers: { authorization: `Bearer ${chatKey}` } });
    expect(chat.status).toBe(403);
    const scraped = await fetch(`${t.server.url}/metrics`, { headers: { authorization: `Bearer ${metricsKey}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/kb_dense_index_state\{state="bm25_only"\} 1/);
  });

  it('with auth off, /readyz details and /metrics stay open to local callers', async () => {
    t = await startTestServer();
    expect((await fetch(`${t.server.url}/metrics`)).status).toBe(200);
    expect((await (await fetch(`${t.server.url}/readyz`)).json()).checks.index).toMatchObject({ version: 1 });
    // auth.mode decides, never the key count: a key created while auth is off changes nothing.
    createKey(t.fixture.db, { name: 'late', scopes: ['chat'], groups: [] });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${t.server.url}/metrics`)).status).toBe(200);
  });
});

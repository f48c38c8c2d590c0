import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/lock/index.ts';
import { startTestServer, type TestServer } from '../server/support/harness.ts';
import { seedFinetune } from './seed.ts';

// The web console's APIs over HTTP: scopes, ACL on the passage view, admin pages' data and actions.

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

const KEYS = [
  { name: 'ops', scopes: ['admin' as const, 'chat' as const], groups: [] },
  { name: 'sales-app', scopes: ['chat' as const], groups: ['sales'] },
];

async function call(url: string, key: string | undefined, init: RequestInit & { json?: unknown } = {}) {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

describe('pages', () => {
  it('serves the chat page at / and the console at /admin with a strict CSP, and chart.js locally', async () => {
    t = await startTestServer();
    const home = await fetch(`${t.server.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/text\/html/);
    expect(home.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await home.text()).toMatch(/<script type="module" src="\/ui\/chat\.js">/);
    const admin = await fetch(`${t.server.url}/admin`);
    expect(await admin.text()).toMatch(/\/ui\/admin\.js/);
    const chart = await fetch(`${t.server.url}/vendor/chart.umd.js`);
    expect(chart.status).toBe(200);
    expect((await chart.text()).length).toBeGreaterThan(50_000);
    const js = await fetch(`${t.server.url}/ui/chat.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    // Unknown paths still answer the API's JSON 404.
    const missing = await call(`${t.server.url}/ui/nope.js`, undefined);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'unknown_route' } });
  });
});

describe('session and passage view', () => {
  it('tells a key what it may do', async () => {
    t = await startTestServer({ keys: KEYS });
    expect((await call(`${t.baseURL}/session`, undefined)).status).toBe(401);
    const s = await call(`${t.baseURL}/session`, t.secrets[1]);
    expect(s.body).toMatchObject({ auth: true, key: { name: 'sales-app', scopes: ['chat'], groups: ['sales'] }, assistants: [{ id: 'kb-assistant', mode: 'extractive' }], uploads: { enabled: true, extensions: expect.arrayContaining(['.md', '.txt', '.html']) } });
  });

  it('returns the document text with the cited chunk offsets, and hides documents outside the key ACL', async () => {
    t = await startTestServer({ keys: KEYS });
    const db = t.fixture.db;
    const docId = t.fixture.docIds['acme-rev'];
    const chunkId = db.prepare('SELECT id FROM chunks WHERE document_id = ?').pluck().get(docId) as number;
    const r = await call(`${t.baseURL}/documents/${docId}?chunks=${chunkId}`, t.secrets[1]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: docId, title: 'Acme revenue 2023', source: 'fixture', url: 'https://news.example/acme', published_at: '2024-01-15T00:00:00Z' });
    expect(r.body.highlights).toEqual([{ chunk_id: chunkId, start: 0, end: r.body.body.length, page: null }]);
    // The sales key sees sales documents but not HR's, and cannot tell them from missing ones.
    expect((await call(`${t.baseURL}/documents/${t.fixture.docIds['sales-pipe']}`, t.secrets[1])).status).toBe(200);
    const hidden = await call(`${t.baseURL}/documents/${t.fixture.docIds['hr-salary']}`, t.secrets[1]);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ error: { type: 'not_found_error', code: 'document_not_found' } });
    expect(JSON.stringify(hidden.body)).not.toContain('SECRET');
    expect((await call(`${t.baseURL}/documents/abc`, t.secrets[1])).status).toBe(400);
    // Chat citations carry the chunk ids the passage view highlights.
    const chat = await call(`${t.baseURL}/chat/completions`, t.secrets[1], { method: 'POST', json: { model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue 2023' }] } });
    const cite = chat.body.citations.find((c: { doc_id: number }) => c.doc_id === docId);
    expect(cite).toMatchObject({ source: 'fixture', chunk_ids: [chunkId] });
  });
});

describe('admin console APIs', () => {
  it('refuses non-admin keys on every admin route', async () => {
    t = await startTestServer({ keys: KEYS });
    for (const [method, p] of [
      ['GET', '/admin/documents'],
      ['GET', '/admin/quarantine'],
      ['GET', '/admin/keys'],
      ['POST', '/admin/keys'],
      ['POST', '/admin/retrieve'],
      ['GET', '/admin/finetune/adapters'],
      ['POST', '/admin/finetune/rollback'],
    ]) {
      const r = await call(`${t.baseURL}${p}`, t.secrets[1], { method, json: method === 'POST' ? {} : undefined });
      expect(r.status, `${method} ${p}`).toBe(403);
      expect(r.body.error.code).toBe('insufficient_scope');
    }
  });

  it('lists, filters and opens documents with their chunks, and deletes one (not while a run holds the lock)', async () => {
    t = await startTestServer({ keys: KEYS });
    const admin = t.secrets[0];
    const all = await call(`${t.baseURL}/admin/documents`, admin);
    expect(all.body.total).toBe(5);
    expect(all.body.facets.groups).toEqual([{ value: 'hr', n: 1 }, { value: 'sales', n: 1 }]);
    expect((await call(`${t.baseURL}/admin/documents?q=acme`, admin)).body.data.map((d: { external_id: string }) => d.external_id).sort()).toEqual(['acme-comment', 'acme-rev']);
    expect((await call(`${t.baseURL}/admin/documents?group=hr`, admin)).body.data.map((d: { external_id: string }) => d.external_id)).toEqual(['hr-salary']);
    expect((await call(`${t.baseURL}/admin/documents?group=-`, admin)).body.total).toBe(3);
    expect((await call(`${t.baseURL}/admin/documents?kind=comment`, admin)).body.total).toBe(1);
    expect((await call(`${t.baseURL}/admin/documents?from=2024-09-01`, admin)).body.data.map((d: { external_id: string }) => d.external_id)).toEqual(['huawei-phone']);
    // A literal % is searched for, not used as a wildcard.
    expect((await call(`${t.baseURL}/admin/documents?q=%25`, admin)).body.total).toBe(0);
    expect((await call(`${t.baseURL}/admin/documents?limit=0`, admin)).status).toBe(400);

    const id = t.fixture.docIds['acme-comment'];
    const detail = await call(`${t.baseURL}/admin/documents/${id}`, admin);
    expect(detail.body).toMatchObject({ id, kind: 'comment', chunks: [{ ordinal: 0, embedding: 'pending' }] });

    const lock = acquireLock(t.fixture.db, 'ingest', { ttlMs: 60_000 });
    const busy = await call(`${t.baseURL}/admin/documents/${id}`, admin, { method: 'DELETE' });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('ingest_running');
    lock.release();
    const del = await call(`${t.baseURL}/admin/documents/${id}`, admin, { method: 'DELETE' });
    expect(del.body).toMatchObject({ deleted: true, chunks: 1, note: expect.stringMatching(/next ingestion run adds it back/) });
    expect((await call(`${t.baseURL}/admin/documents`, admin)).body.total).toBe(4);
    expect((await call(`${t.baseURL}/admin/documents/${id}`, admin, { method: 'DELETE' })).status).toBe(404);
    // Gone from search at once.
    const search = await call(`${t.baseURL}/retrieve`, admin, { method: 'POST', json: { query: 'Acme revenue growth slow' } });
    expect(search.body.data.map((h: { doc_id: number }) => h.doc_id)).not.toContain(id);
  });

  it('filters quarantine by run, source and reason and explains the reason in words', async () => {
    t = await startTestServer({ keys: KEYS });
    const db = t.fixture.db;
    const ins = db.prepare('INSERT INTO quarantine (source, run_id, locator, raw, reason, detail) VALUES (?, ?, ?, ?, ?, ?)');
    ins.run('news', 1, 'news.jsonl:3', '{"id":', 'invalid_json', 'Unexpected end of JSON input');
    ins.run('news', 2, 'news.jsonl:9', '{"id":"x","body":"hi"}', 'too_short', '2 characters');
    ins.run('forum', 2, 'a.bin', 'a.bin', 'unsupported_file', '.bin files are not ingested');
    const admin = t.secrets[0];
    const all = await call(`${t.baseURL}/admin/quarantine`, admin);
    expect(all.body.total).toBe(3);
    expect(all.body.facets.reasons).toEqual({ invalid_json: 1, too_short: 1, unsupported_file: 1 });
    const run2 = await call(`${t.baseURL}/admin/quarantine?run=2&source=news`, admin);
    expect(run2.body.data).toEqual([expect.objectContaining({ reason: 'too_short', raw: '{"id":"x","body":"hi"}', explanation: expect.stringMatching(/shorter than cleaning.min_chars/) })]);
    expect((await call(`${t.baseURL}/admin/quarantine?reason=invalid_json`, admin)).body.data[0].locator).toBe('news.jsonl:3');
    expect((await call(`${t.baseURL}/admin/quarantine?run=x`, admin)).status).toBe(400);
  });

  it('creates a key (secret shown once), lists it without the secret, revokes it; refuses bad input and self-revocation', async () => {
    t = await startTestServer({ keys: KEYS });
    const admin = t.secrets[0];
    const created = await call(`${t.baseURL}/admin/keys`, admin, { method: 'POST', json: { name: 'hr-bot', scopes: ['chat'], groups: ['hr'] } });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^kb_/);
    const list = await call(`${t.baseURL}/admin/keys`, admin);
    expect(list.body.data[0]).toMatchObject({ name: 'hr-bot', groups: ['hr'], revoked_at: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    // The new key works, and sees HR's document.
    expect((await call(`${t.baseURL}/documents/${t.fixture.docIds['hr-salary']}`, created.body.secret)).status).toBe(200);
    const revoked = await call(`${t.baseURL}/admin/keys/${created.body.id}`, admin, { method: 'DELETE' });
    expect(revoked.body.revoked_at).toBeTruthy();
    expect((await call(`${t.baseURL}/documents/${t.fixture.docIds['hr-salary']}`, created.body.secret)).status).toBe(401);
    expect((await call(`${t.baseURL}/admin/keys/${created.body.id}`, admin, { method: 'DELETE' })).status).toBe(409);
    expect((await call(`${t.baseURL}/admin/keys/1`, admin, { method: 'DELETE' })).body.error.code).toBe('revoke_self');
    expect((await call(`${t.baseURL}/admin/keys/999`, admin, { method: 'DELETE' })).status).toBe(404);
    const bad = await call(`${t.baseURL}/admin/keys`, admin, { method: 'POST', json: { name: 'x', scopes: ['root'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('scopes.0');
    expect((await call(`${t.baseURL}/admin/keys`, admin, { method: 'POST', json: { name: 'x', scopes: ['chat'], groups: ['no spaces allowed'] } })).status).toBe(400);
  });

  it('streams a running ingestion run as progress events that end in its report', async () => {
    t = await startTestServer({ keys: KEYS });
    const db = t.fixture.db;
    const lock = acquireLock(db, 'ingest', { ttlMs: 60_000 });
    const runId = Number(db.prepare("INSERT INTO ingest_runs (started_at, status, trigger, sources) VALUES (?, 'running', 'api', '[\"news\"]')").run(new Date().toISOString()).lastInsertRowid);
    db.prepare('UPDATE documents SET last_run_id = ? WHERE external_id IN (?, ?)').run(runId, 'acme-rev', 'acme-comment');
    const res = await fetch(`${t.baseURL}/admin/runs/${runId}/events`, { headers: { authorization: `Bearer ${t.secrets[0]}` } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: progress')) text += decoder.decode((await reader.read()).value);
    expect(text).toMatch(/"documents_written":2/);
    const report = { run_id: runId, status: 'succeeded', docs: { seen: 2, new: 2 }, seconds: { read: 0.1, total: 0.5 } };
    db.prepare("UPDATE ingest_runs SET status = 'succeeded', finished_at = ?, report = ? WHERE id = ?").run(new Date().toISOString(), JSON.stringify(report), runId);
    lock.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    const last = text.trim().split('\n\n').pop()!;
    expect(last).toMatch(/^event: report\n/);
    expect(JSON.parse(last.split('\ndata: ')[1])).toMatchObject({ id: runId, status: 'succeeded', report: { seconds: { total: 0.5 } } });

    const detail = await call(`${t.baseURL}/admin/runs/${runId}`, t.secrets[0]);
    expect(detail.body).toMatchObject({ id: runId, status: 'succeeded', progress: null });
    expect((await call(`${t.baseURL}/admin/runs/999`, t.secrets[0])).status).toBe(404);
  });

  it('reports a run whose process died as aborted instead of streaming forever', async () => {
    t = await startTestServer({ keys: KEYS });
    const runId = Number(t.fixture.db.prepare("INSERT INTO ingest_runs (started_at, status) VALUES (?, 'running')").run(new Date().toISOString()).lastInsertRowid);
    const text = await (await fetch(`${t.baseURL}/admin/runs/${runId}/events`, { headers: { authorization: `Bearer ${t.secrets[0]}` } })).text();
    expect(text).toMatch(/^event: report\ndata: .*"status":"aborted"/);
  });

  it('tests retrieval as another key: its ACL applies, and the score breakdown is returned', async () => {
    t = await startTestServer({ keys: KEYS });
    const admin = t.secrets[0];
    const asAdmin = await call(`${t.baseURL}/admin/retrieve`, admin, { method: 'POST', json: { query: 'salary' } });
    expect(asAdmin.body.data.map((h: { doc_id: number }) => h.doc_id)).toContain(t.fixture.docIds['hr-salary']);
    const asSales = await call(`${t.baseURL}/admin/retrieve`, admin, { method: 'POST', json: { query: 'salary', as_key: 2 } });
    expect(asSales.body.as_key).toMatchObject({ name: 'sales-app', groups: ['sales'] });
    const ids = asSales.body.data.map((h: { doc_id: number }) => h.doc_id);
    expect(ids).toContain(t.fixture.docIds['sales-pipe']);
    expect(ids).not.toContain(t.fixture.docIds['hr-salary']);
    expect(asSales.body.data[0].score).toBeDefined();
    expect((await call(`${t.baseURL}/admin/retrieve`, admin, { method: 'POST', json: { query: 'x', as_key: 99 } })).status).toBe(404);
    expect((await call(`${t.baseURL}/admin/retrieve`, admin, { method: 'POST', json: { query: '' } })).status).toBe(400);
  });

  it('shows fine-tuning runs with their loss curve and adapters with the gate; deploy honours the gate, rollback needs a deployment', async () => {
    t = await startTestServer({ keys: KEYS });
    const seed = seedFinetune(t.fixture.db, t.fixture.dir);
    const admin = t.secrets[0];
    const runs = await call(`${t.baseURL}/admin/finetune/runs`, admin);
    expect(runs.body.data).toEqual([expect.objectContaining({ name: seed.runName, status: 'succeeded', base_model: 'org/base', method: 'lora' })]);
    const run = await call(`${t.baseURL}/admin/finetune/runs/${seed.runName}`, admin);
    expect(run.body.loss.total_steps).toBe(seed.steps);
    expect(run.body.loss.train).toHaveLength(seed.steps);
    expect(run.body.loss.eval).toHaveLength(6);
    expect(run.body.loss.train[0].loss).toBeGreaterThan(run.body.loss.train[seed.steps - 1].loss);
    expect((await call(`${t.baseURL}/admin/finetune/runs/nope`, admin)).status).toBe(404);

    const adapters = await call(`${t.baseURL}/admin/finetune/adapters`, admin);
    const byVersion = Object.fromEntries(adapters.body.data.map((a: { version: string }) => [a.version, a]));
    expect(byVersion[seed.good].gate.pass).toBe(true);
    expect(byVersion[seed.bad].gate).toMatchObject({ pass: false, reason: expect.stringMatching(/does not beat/) });
    expect(byVersion[seed.good].eval_report.settings).toHaveLength(4);

    const refused = await call(`${t.baseURL}/admin/finetune/adapters/${seed.bad}/deploy`, admin, { method: 'POST', json: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'promotion_gate_refused', message: expect.stringMatching(/promotion gate refused company-2025h2/) });
    // No upstream is configured: the gate passes but nothing can be loaded, so nothing changes.
    const manual = await call(`${t.baseURL}/admin/finetune/adapters/${seed.good}/deploy`, admin, { method: 'POST', json: {} });
    expect(manual.body).toMatchObject({ status: 'needs_manual_load', instructions: expect.arrayContaining([expect.stringMatching(/vllm|lora/i)]) });
    const rollback = await call(`${t.baseURL}/admin/finetune/rollback`, admin, { method: 'POST', json: {} });
    expect(rollback.status).toBe(409);
    expect(rollback.body.error.code).toBe('nothing_to_roll_back');
    expect((await call(`${t.baseURL}/admin/finetune/adapters/nope/deploy`, admin, { method: 'POST', json: {} })).status).toBe(404);
    expect((await call(`${t.baseURL}/admin/finetune/adapters?assistant=ghost`, admin)).status).toBe(404);
  });

  it('keeps an upload and says so when no ingestion run can start for it', async () => {
    const form = () => {
      const f = new FormData();
      f.append('file', new Blob(['Quarterly zebra logistics memo about warehouses near Wuhan.']), 'memo.txt');
      return f;
    };
    t = await startTestServer({ keys: KEYS, server: { startIngestion: async () => Promise.reject(new Error('spawn ENOENT')) } });
    const failed = await call(`${t.baseURL}/uploads`, t.secrets[0], { method: 'POST', body: form() });
    expect(failed.status).toBe(202);
    expect(failed.body.ingestion).toMatchObject({ status: 'failed', run_id: null, message: expect.stringMatching(/spawn ENOENT.*next run ingests them/) });
    expect(failed.body.documents).toEqual([expect.objectContaining({ file: 'memo.txt', status: 'pending' })]);
    expect((await call(`${t.baseURL}/uploads`, t.secrets[0])).body.data).toHaveLength(1);
    await t.close();
    t = await startTestServer({ keys: KEYS });
    const none = await call(`${t.baseURL}/uploads`, t.secrets[0], { method: 'POST', body: form() });
    expect(none.body.ingestion).toMatchObject({ status: 'unavailable', message: expect.stringMatching(/kb ingest --source uploads/) });
  });

  it('refuses state changes that a browser says come from another site (auth off: no key to protect them)', async () => {
    t = await startTestServer();
    const form = () => {
      const f = new FormData();
      f.append('file', new Blob(['Zebra logistics will consolidate three warehouses near Wuhan.']), 'memo.txt');
      return f;
    };
    const evil = await call(`${t.baseURL}/uploads`, undefined, { method: 'POST', body: form(), headers: { origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('cross_site_request');
    const fetchMeta = await call(`${t.baseURL}/admin/keys`, undefined, { method: 'POST', json: { name: 'x', scopes: ['admin'] }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(fetchMeta.status).toBe(403);
    expect((await call(`${t.baseURL}/admin/documents/${t.fixture.docIds['acme-rev']}`, undefined, { method: 'DELETE', headers: { origin: 'null' } })).status).toBe(403);
    // The console's own pages (same origin) and clients that are not browsers are served.
    const own = new URL(t.baseURL).origin;
    expect((await call(`${t.baseURL}/uploads`, undefined, { method: 'POST', body: form(), headers: { origin: own, 'sec-fetch-site': 'same-origin' } })).status).toBe(202);
    expect((await call(`${t.baseURL}/admin/keys`, undefined, { method: 'POST', json: { name: 'cli', scopes: ['chat'] } })).status).toBe(201);
    // Nothing the evil requests asked for happened.
    // (Read from the store: the new key has switched auth on.)
    expect(t.fixture.db.prepare('SELECT name FROM api_keys').pluck().all()).toEqual(['cli']);
  });
});


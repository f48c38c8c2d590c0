import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/lock/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';

// The upload API end to end: multipart and JSON uploads go through the real pipeline (cleaning,
// dedupe, quarantine, chunking, BM25 + dense index) as the managed `uploads` source.

let s: LiveServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

const KEYS = [
  { name: 'ops', scopes: ['admin' as const, 'chat' as const], groups: [] },
  { name: 'sales', scopes: ['chat' as const, 'upload' as const], groups: ['sales'] },
  { name: 'hr', scopes: ['chat' as const], groups: ['hr'] },
  { name: 'reader', scopes: ['chat' as const], groups: [] },
  { name: 'sales2', scopes: ['upload' as const], groups: ['sales'] },
];

const MD = `---\ntitle: Walrus battery plan\nacl_groups: []\n---\n# ignored heading\n\nThe walrus battery programme moves production to Ningbo in 2027. It doubles capacity and cuts cost per cell by a fifth, according to the plan.\n`;
const TXT = 'Quarterly zebra logistics memo\nZebra logistics will consolidate three warehouses into one hub near Wuhan before the end of the year, saving freight cost.\n';

function form(files: Array<{ name: string; text: string; type?: string }>, fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const file of files) f.append('file', new Blob([file.text], { type: file.type ?? 'text/plain' }), file.name);
  return f;
}

async function post(url: string, key: string, body: FormData | unknown) {
  const isForm = body instanceof FormData;
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(isForm ? {} : { 'content-type': 'application/json' }) },
    body: isForm ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function get(url: string, key: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any };
}

async function search(key: string, query: string): Promise<string[]> {
  const r = await post(`${s!.url}/v1/retrieve`, key, { query, mode: 'bm25' });
  return r.body.data.map((h: { title: string }) => h.title);
}

describe('uploads', () => {
  it('ingests uploaded files through the normal pipeline, with the ACL the uploader set (front matter cannot change it)', async () => {
    s = await startLiveServer({ keys: KEYS });
    const { ops, sales, hr, reader } = s.secrets;
    const up = await post(`${s.url}/v1/uploads`, ops, form([{ name: 'walrus plan.md', text: MD }, { name: '物流备忘.txt', text: TXT }], { acl_groups: 'sales', kind: 'post' }));
    expect(up.status).toBe(202);
    expect(up.body).toMatchObject({ acl_groups: ['sales'], kind: 'post', ingestion: { status: 'running', run_id: expect.any(Number) } });
    expect(up.body.files.map((f: { name: string }) => f.name)).toEqual(['walrus plan.md', '物流备忘.txt']);
    const [report] = await s.settle();
    expect(report).toMatchObject({ status: 'succeeded', sources: { uploads: { seen: 2, quarantined: 0 } }, docs: { new: 2 } });
    // Only the uploads source ran: the news source was not read again.
    expect(Object.keys(report.sources)).toEqual(['uploads']);

    const status = await get(`${s.url}/v1/uploads/${up.body.id}`, ops);
    expect(status.body.documents).toEqual([
      expect.objectContaining({ file: 'walrus plan.md', status: 'indexed', chunks: expect.any(Number), pending_vectors: 0 }),
      expect.objectContaining({ file: '物流备忘.txt', status: 'indexed' }),
    ]);
    expect(await search(sales, 'walrus battery Ningbo')).toContain('Walrus battery plan');
    expect(await search(sales, 'zebra logistics warehouses')).toContain('Quarterly zebra logistics memo');
    expect(await search(hr, 'walrus battery Ningbo')).not.toContain('Walrus battery plan');
    expect(await search(reader, 'walrus battery Ningbo')).not.toContain('Walrus battery plan');
    const doc = await get(`${s.url}/v1/documents/${status.body.documents[0].document_id}`, sales);
    expect(doc.body).toMatchObject({ source: 'uploads', kind: 'post', acl_groups: ['sales'] });
    expect((await get(`${s.url}/v1/documents/${status.body.documents[0].document_id}`, hr)).status).toBe(404);
  });

  it('keeps an uploader within its own groups', async () => {
    s = await startLiveServer({ keys: KEYS });
    const { sales, hr } = s.secrets;
    const wider = await post(`${s.url}/v1/uploads`, sales, form([{ name: 'a.txt', text: TXT }], { acl_groups: 'sales,hr' }));
    expect(wider.status).toBe(403);
    expect(wider.body.error).toMatchObject({ code: 'acl_groups_not_allowed', param: 'acl_groups', message: expect.stringMatching(/not: hr/) });
    const everyone = await post(`${s.url}/v1/uploads`, sales, { records: [{ body: TXT }], acl_groups: [] });
    expect(everyone.status).toBe(403);
    const own = await post(`${s.url}/v1/uploads`, sales, form([{ name: 'a.txt', text: TXT }]));
    expect(own.status).toBe(202);
    expect(own.body.acl_groups).toEqual(['sales']);
    // A chat-only key cannot upload at all.
    expect((await post(`${s.url}/v1/uploads`, hr, form([{ name: 'a.txt', text: TXT }]))).status).toBe(403);
    // Another uploader's upload is invisible (404, like a missing one); the admin sees it.
    await s.settle();
    expect((await get(`${s.url}/v1/uploads/${own.body.id}`, s.secrets.sales2)).status).toBe(404);
    expect((await get(`${s.url}/v1/uploads/${own.body.id}`, s.secrets.sales2, { method: 'DELETE' })).status).toBe(404);
    expect((await get(`${s.url}/v1/uploads/${own.body.id}`, s.secrets.ops)).status).toBe(200);
    expect((await get(`${s.url}/v1/uploads`, sales)).body.data.map((u: { id: string }) => u.id)).toEqual([own.body.id]);
  });

  it('adds JSON records, and reports what quarantine made of a too-short one', async () => {
    s = await startLiveServer({ keys: KEYS });
    const { ops } = s.secrets;
    const up = await post(`${s.url}/v1/uploads`, ops, {
      records: [
        { title: 'Okapi exhibition recap', body: 'The okapi robotics exhibition in Hangzhou drew forty exhibitors and two thousand visitors over three days.', published_at: '2026-05-04', tags: ['expo'] },
        { title: 'tiny', body: 'short' },
      ],
    });
    expect(up.status).toBe(202);
    await s.settle();
    const status = await get(`${s.url}/v1/uploads/${up.body.id}`, ops);
    expect(status.body.documents).toEqual([
      expect.objectContaining({ file: 'record-0001.md', status: 'indexed' }),
      expect.objectContaining({ file: 'record-0002.md', status: 'quarantined', quarantine: expect.objectContaining({ reason: 'too_short' }) }),
    ]);
    const doc = await get(`${s.url}/v1/documents/${status.body.documents[0].document_id}`, ops);
    expect(doc.body).toMatchObject({ title: 'Okapi exhibition recap', tags: ['expo'], published_at: expect.stringMatching(/^2026-05-04/) });
    const bad = await post(`${s.url}/v1/uploads`, ops, { records: [{ title: 'x' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('records.0.body');
  });

  it('refuses unsupported types (415), oversized files (413) and empty uploads (400), storing nothing', async () => {
    s = await startLiveServer({ keys: KEYS, overrides: { uploads: { max_file_bytes: 2048, ingest_retry_seconds: 1 } } });
    const { ops } = s.secrets;
    const exe = await post(`${s.url}/v1/uploads`, ops, form([{ name: 'tool.exe', text: 'MZ' }]));
    expect(exe.status).toBe(415);
    expect(exe.body.error).toMatchObject({ code: 'unsupported_file_type', message: expect.stringMatching(/supported: .*\.md/) });
    const big = await post(`${s.url}/v1/uploads`, ops, form([{ name: 'big.txt', text: 'x'.repeat(5000) }]));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('file_too_large');
    const none = await post(`${s.url}/v1/uploads`, ops, form([], { acl_groups: 'sales' }));
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('empty_upload');
    const badKind = await post(`${s.url}/v1/uploads`, ops, form([{ name: 'a.txt', text: TXT }], { kind: 'essay' }));
    expect(badKind.status).toBe(400);
    expect(s.runs).toHaveLength(0);
    const dir = path.join(s.env.dir, 'uploads');
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  });

  it('deletes an upload: its documents leave search and its files leave the disk (not while a run holds the lock)', async () => {
    s = await startLiveServer({ keys: KEYS });
    const { ops, sales } = s.secrets;
    const up = await post(`${s.url}/v1/uploads`, ops, form([{ name: 'walrus.md', text: MD }], { acl_groups: 'sales' }));
    await s.settle();
    expect(await search(sales, 'walrus battery Ningbo')).toContain('Walrus battery plan');

    const lock = acquireLock(s.env.db, 'ingest', { ttlMs: 60_000 });
    const busy = await get(`${s.url}/v1/uploads/${up.body.id}`, ops, { method: 'DELETE' });
    expect(busy.status).toBe(409);
    lock.release();
    const del = await get(`${s.url}/v1/uploads/${up.body.id}`, ops, { method: 'DELETE' });
    expect(del.body).toMatchObject({ deleted: true, documents: 1 });
    expect(await search(sales, 'walrus battery Ningbo')).not.toContain('Walrus battery plan');
    expect(fs.existsSync(path.join(s.env.dir, 'uploads', up.body.id))).toBe(false);
    expect((await get(`${s.url}/v1/uploads/${up.body.id}`, ops)).status).toBe(404);
    // The next run of the source changes nothing and the store stays consistent.
    const r = await post(`${s.url}/v1/admin/ingest`, ops, {});
    expect(r.status).toBe(202);
    const reports = await s.settle();
    expect(reports.at(-1)).toMatchObject({ status: 'succeeded', docs: { new: 0, deleted: 0 } });
  });

  it('waits for a run in progress, then ingests the upload in a run of its own', async () => {
    s = await startLiveServer({ keys: KEYS });
    const { ops, sales } = s.secrets;
    const lock = acquireLock(s.env.db, 'ingest', { ttlMs: 60_000 });
    const up = await post(`${s.url}/v1/uploads`, ops, form([{ name: 'walrus.md', text: MD }], { acl_groups: 'sales' }));
    expect(up.body.ingestion).toMatchObject({ status: 'queued', run_id: null });
    lock.release();
    const deadline = Date.now() + 15_000;
    while (s.runs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [report] = await s.settle();
    expect(report).toMatchObject({ status: 'succeeded', docs: { new: 1 } });
    expect(await search(sales, 'walrus battery Ningbo')).toContain('Walrus battery plan');
  });
});

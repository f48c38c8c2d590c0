import { afterEach, describe, expect, it } from 'vitest';
import { writeChunkTerms } from '../../src/bm25/index.ts';
import { syncBm25Index } from '../../src/bm25/versions.ts';
import { indexTerms } from '../../src/text/analyzer.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

// `retrieval.bm25.k1` / `.b` differing from what scores the answers: the server stays ready and
// answers, and says so — /readyz (degraded, the BM25 check's detail), /v1/retrieve (`degraded`,
// X-KB-Degraded) — until a build with the configured values is active.

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('BM25 k1/b that differ from the index', () => {
  it('/readyz and /v1/retrieve say what is served, and stop once the index is rebuilt with the configured values', async () => {
    t = await startTestServer({ realRetriever: true, overrides: { retrieval: { bm25: { k1: 2, b: 0.75 } } } });
    const db = t.fixture.db;
    const rows = db.prepare('SELECT c.id, d.title, c.text FROM chunks c JOIN documents d ON d.id = c.document_id').all() as { id: number; title: string; text: string }[];
    db.transaction(() => rows.forEach((c) => writeChunkTerms(db, c.id, indexTerms(c.title, c.text))))(); // the fixture has no BM25 terms
    const ready = async () => {
      const r = await fetch(`${t!.server.url}/readyz`);
      expect(r.status).toBe(200);
      return (await r.json()) as { status: string; degraded: boolean; checks: { bm25: { ok: boolean; degraded?: boolean; detail?: string } } };
    };
    // No engine version: FTS5 answers with its fixed values.
    expect(await ready()).toMatchObject({ status: 'ready', degraded: true, checks: { bm25: { ok: true, degraded: true, detail: expect.stringMatching(/FTS5 answers with k1 1.2, b 0.75 \(the configuration says k1 2, b 0.75\)/) } } });
    const r = await fetch(`${t.server.url}/v1/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'Acme revenue', mode: 'bm25' }) });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-kb-degraded')).toBe('bm25');
    const body = (await r.json()) as { data: unknown[]; degraded: string[] };
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.degraded).toEqual([expect.stringMatching(/^bm25: bm25 params not applied: .*FTS5/)]);

    // A version built with the old values: still degraded, now "rebuild".
    syncBm25Index(t.fixture.db, t.fixture.dir);
    expect((await ready()).checks.bm25.detail).toMatch(/^bm25 params differ, rebuild: BM25 version 1 was built with k1 1.2, b 0.75; the configuration says k1 2, b 0.75/);

    // Built with the configured values: nothing to report.
    syncBm25Index(t.fixture.db, t.fixture.dir, { params: { k1: 2, b: 0.75 } });
    expect((await ready()).checks.bm25).toEqual({ ok: true });
  });
});

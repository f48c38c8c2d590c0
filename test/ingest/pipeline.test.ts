import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { listQuarantine } from '../../ingest/quarantine.ts';
import { listVersions, activeVersion } from '../../src/vector/versions.ts';
import { searchBm25 } from '../../src/bm25/index.ts';
import { analyze, ftsQuery } from '../../src/text/analyzer.ts';
import { Bm25Leg } from '../../src/bm25/leg.ts';
import { activeBm25Version } from '../../src/bm25/versions.ts';
import { LocalEmbedder } from '../../src/embeddings/local.ts';
import { acquireLock, LockBusyError } from '../../src/lock/index.ts';
import { article, expectConsistent, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

let env: IngestEnv;
afterEach(() => env?.close());

const docIds = (e: IngestEnv) =>
  (e.db.prepare('SELECT external_id FROM documents WHERE deleted_at IS NULL ORDER BY external_id').pluck().all() as string[]);

describe('ingestion pipeline', () => {
  it('adds, changes and deletes incrementally, keeping BM25, HNSW and documents consistent', async () => {
    env = await makeIngestEnv();
    const records = Array.from({ length: 20 }, (_, i) => article(i + 1));
    env.writeSource(records);
    const first = await runIngestion(env.ctx);
    expect(first.status).toBe('succeeded');
    expect(first.docs).toMatchObject({ seen: 20, new: 20, changed: 0, unchanged: 0, deleted: 0, quarantined: 0 });
    expect(first.chunks.added).toBeGreaterThanOrEqual(20);
    expect(first.embedding.embedded).toBe(first.chunks.added);
    expect(first.index?.vectors).toBe(first.chunks.added);
    expectConsistent(env);

    // Week 2: two changed, three gone, four new.
    const week2 = records.slice(3).map((r) => (r.id === 'n-5' || r.id === 'n-6' ? { ...r, body: `${r.body}\n\nUpdate: the ${r.id} solar deal closed.` } : r));
    week2.push(...Array.from({ length: 4 }, (_, i) => article(100 + i, 'robot')));
    env.writeSource(week2);
    const second = await runIngestion(env.ctx);
    expect(second.docs).toMatchObject({ seen: 21, new: 4, changed: 2, unchanged: 15, deleted: 3 });
    expect(second.chunks.removed).toBeGreaterThan(0);
    expectConsistent(env);
    expect(docIds(env)).toEqual(week2.map((r) => r.id).sort());
    // Deleted documents are gone from BM25; changed text is searchable.
    const hits = (q: string) => searchBm25(env.db, ftsQuery(q), 50).map((h) => h.chunkId);
    const docOf = (chunkId: number) => env.db.prepare('SELECT d.external_id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?').pluck().get(chunkId);
    expect(hits('Reference code 7919').map(docOf)).not.toContain('n-1');
    expect(hits('solar deal closed').map(docOf)).toEqual(expect.arrayContaining(['n-5', 'n-6']));
    // The BM25 engine's new version (built by the run) answers the same.
    const leg = new Bm25Leg({ db: env.db, dataDir: env.dir });
    expect(leg.search(analyze('solar deal closed'), 50).map((h) => h.chunkId)).toEqual(hits('solar deal closed'));
    expect(leg.search(analyze('Reference code 7919'), 50).map((h) => docOf(h.chunkId))).not.toContain('n-1');
    expect(second.bm25).toMatchObject({ built: true, version: 2 });
    // The embedding cache means only new/changed chunk texts were embedded.
    expect(second.embedding.embedded).toBeLessThan(second.chunks.added + 1);
    expect(second.embedding.embedded).toBeGreaterThan(0);

    // Week 3: nothing changed — nothing is embedded and no index version is written.
    const versionsBefore = listVersions(env.db).length;
    const third = await runIngestion(env.ctx);
    expect(third.docs).toMatchObject({ new: 0, changed: 0, unchanged: 21, deleted: 0 });
    expect(third.chunks).toEqual({ added: 0, removed: 0 });
    expect(third.embedding.embedded).toBe(0);
    expect(listVersions(env.db).length).toBe(versionsBefore);
    expect(third.bm25).toMatchObject({ built: false, version: 2 });
    expectConsistent(env);

    // Week 4: nothing changed but retrieval.bm25.k1 — the BM25 files depend on it: a new version.
    env.reopen({ retrieval: { bm25: { k1: 1.6 } } });
    const fourth = await runIngestion(env.ctx);
    expect(fourth.chunks).toEqual({ added: 0, removed: 0 });
    expect(fourth.bm25).toMatchObject({ built: true, version: 3 });
    expect(JSON.parse(activeBm25Version(env.db)!.params)).toMatchObject({ k1: 1.6, b: 0.75 });
    expect((await runIngestion(env.ctx)).bm25).toMatchObject({ built: false, version: 3 });
  });

  it('quarantines every rejected record with its reason and loses nothing', async () => {
    env = await makeIngestEnv();
    const base = article(1);
    env.writeSource([
      base,
      '{"id": "broken", "title": "x", ',
      { id: 'nobody', title: 'No body' } as never,
      { id: 'short', title: 'Short', body: 'tiny' },
      { ...base, id: 'copy-of-1' },
      { ...base, id: 'syndicated', title: 'Reprint', body: base.body.replace('this week', 'this very week') },
      { id: 'baddate', title: 'Bad date', body: base.body + ' different text entirely here', date: 'next tuesday' },
      article(2),
    ]);
    const r = await runIngestion(env.ctx);
    expect(r.docs.new).toBe(2);
    expect(r.docs.quarantined).toBe(6);
    expect(r.docs.duplicates).toBe(2);
    const reasons = listQuarantine(env.db, { runId: r.run_id }).map((q) => q.reason).sort();
    expect(reasons).toEqual(['exact_duplicate', 'invalid_date', 'invalid_json', 'missing_body', 'near_duplicate', 'too_short']);
    const raw = listQuarantine(env.db, { reason: 'invalid_json' })[0];
    expect(raw.raw).toContain('"broken"');
    expect(raw.locator).toMatch(/news\.jsonl:2$/);
  });

  it('without an embedding model fills BM25, keeps chunks pending, and the next run with a model embeds them', async () => {
    env = await makeIngestEnv({ embedding: { provider: 'local', model: 'absent/model', allow_remote: false } });
    env.writeSource(Array.from({ length: 5 }, (_, i) => article(i + 1)));
    const degraded = await runIngestion(env.ctx);
    expect(degraded.status).toBe('succeeded');
    expect(degraded.embedding.unavailable).toMatch(/absent\/model.*not/);
    expect(degraded.embedding.pending).toBe(degraded.chunks.added);
    expect(activeVersion(env.db)).toBeNull();
    expect(searchBm25(env.db, ftsQuery('battery product Shanghai'), 5).length).toBeGreaterThan(0);
    expectConsistent(env, { allEmbedded: false });

    env.reopen({ embedding: { provider: 'local', model: 'tiny/e5', allow_remote: false } });
    const healed = await runIngestion(env.ctx);
    // Chunks sized by the token estimate are remade with the model's tokenizer, then embedded.
    expect(healed.warnings.join()).toMatch(/tokenizer changed/);
    expect(healed.docs.changed).toBe(5);
    expect(healed.embedding.embedded).toBe(healed.chunks.added);
    expect(healed.embedding.pending).toBe(0);
    expectConsistent(env);
  });

  it('switching the embedding model builds a new index version', async () => {
    env = await makeIngestEnv();
    env.writeSource(Array.from({ length: 6 }, (_, i) => article(i + 1)));
    await runIngestion(env.ctx);
    const v1 = activeVersion(env.db)!;
    env.reopen({ embedding: { provider: 'local', model: 'tiny/e5', allow_remote: false, dtype: 'fp32' } });
    const r = await runIngestion(env.ctx);
    const v2 = activeVersion(env.db)!;
    expect(v2.id).not.toBe(v1.id);
    expect(v2.model_id).not.toBe(v1.model_id);
    expect(r.index?.rebuilt).toBe(true);
    expect(fs.existsSync(path.join(env.dir, v1.file))).toBe(true); // kept for rollback (keep_versions)
    expectConsistent(env);
  });

  it('refuses a suspicious mass deletion from a full snapshot unless allowed', async () => {
    env = await makeIngestEnv();
    env.writeSource(Array.from({ length: 10 }, (_, i) => article(i + 1)));
    await runIngestion(env.ctx);
    env.writeSource([article(1)]);
    const refused = await runIngestion(env.ctx);
    expect(refused.docs.deleted).toBe(0);
    expect(refused.warnings.join()).toMatch(/refusing to delete 9 of 10/);
    expect(docIds(env)).toHaveLength(10);
    const allowed = await runIngestion(env.ctx, { allowMassDelete: true });
    expect(allowed.docs.deleted).toBe(9);
    expectConsistent(env);
  });

  it('an unreadable source fails the run without deleting its documents', async () => {
    env = await makeIngestEnv();
    env.writeSource(Array.from({ length: 3 }, (_, i) => article(i + 1)));
    await runIngestion(env.ctx);
    fs.rmSync(env.sourceFile);
    const r = await runIngestion(env.ctx);
    expect(r.status).toBe('failed');
    expect(r.sources.news.error).toMatch(/news\.jsonl/);
    expect(docIds(env)).toHaveLength(3);
  });

  it('does not start while another process holds the ingest lock', async () => {
    env = await makeIngestEnv({}, { model: false });
    env.writeSource([article(1)]);
    const lock = acquireLock(env.db, 'ingest', { ttlMs: 60_000 });
    await expect(runIngestion(env.ctx, { embedder: null })).rejects.toThrowError(LockBusyError);
    lock.release();
    expect((await runIngestion(env.ctx, { embedder: null })).status).toBe('succeeded');
  });

  it('counts chunk tokens with the embedding model tokenizer when it is loaded', async () => {
    env = await makeIngestEnv();
    env.writeSource([article(1)]);
    await runIngestion(env.ctx);
    const embedder = new LocalEmbedder(env.config.embedding, path.join(env.dir, 'models'));
    await embedder.load();
    const row = env.db.prepare('SELECT embed_text, token_count FROM chunks LIMIT 1').get() as { embed_text: string; token_count: number };
    expect(row.token_count).toBe(embedder.countTokens(row.embed_text));
  });
});

describe('settings changes', () => {
  it('remakes every chunk when the chunking settings change', async () => {
    env = await makeIngestEnv();
    env.writeSource(Array.from({ length: 4 }, (_, i) => article(i + 1)));
    const first = await runIngestion(env.ctx);
    env.reopen({ chunking: { target_tokens: 30, max_tokens: 50, overlap_tokens: 5 } });
    const second = await runIngestion(env.ctx);
    expect(second.warnings.join()).toMatch(/reprocessed/);
    expect(second.docs.changed).toBe(4);
    expect(second.chunks.removed).toBe(first.chunks.added);
    expect(second.chunks.added).toBeGreaterThan(first.chunks.added);
    expectConsistent(env);
    const third = await runIngestion(env.ctx);
    expect(third.docs.unchanged).toBe(4);
  });
});

describe('duplicates across weekly snapshots', () => {
  it('a copy whose original leaves the snapshot is kept, not discarded with it', async () => {
    env = await makeIngestEnv();
    const original = article(1);
    const copy = { ...original, id: 'copy' };
    env.writeSource([original, article(2), article(3)]);
    await runIngestion(env.ctx);
    expect(docIds(env)).toEqual(['n-1', 'n-2', 'n-3']);

    // Next week the original is gone and a copy (under another id) arrives: the text must stay.
    env.writeSource([copy, article(2), article(3)]);
    const second = await runIngestion(env.ctx);
    expect(second.docs).toMatchObject({ new: 1, deleted: 1, duplicates: 0 });
    expect(docIds(env)).toEqual(['copy', 'n-2', 'n-3']);
    expectConsistent(env);
  });

  it('within one run the first record read wins and later copies are duplicates', async () => {
    env = await makeIngestEnv();
    env.writeSource([{ ...article(1), id: 'copy' }, article(1), article(2)]);
    const r = await runIngestion(env.ctx);
    expect(r.docs).toMatchObject({ new: 2, duplicates: 1 });
    expect(docIds(env)).toEqual(['copy', 'n-2']);
  });

  it('a copy of a document that stays is still a duplicate, wherever it sits in the file', async () => {
    env = await makeIngestEnv();
    env.writeSource([article(1), article(2)]);
    await runIngestion(env.ctx);
    env.writeSource([{ ...article(2), id: 'copy-2' }, article(1), article(2)]);
    const r = await runIngestion(env.ctx);
    expect(r.docs).toMatchObject({ new: 0, unchanged: 2, duplicates: 1, deleted: 0 });
    expect(listQuarantine(env.db, { runId: r.run_id }).map((q) => q.reason)).toEqual(['exact_duplicate']);
  });
});

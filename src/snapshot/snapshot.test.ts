import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { article, makeIngestEnv, type IngestEnv } from '../../test/helpers/ingest-env.ts';
import { createEmbedder } from '../embeddings/factory.ts';
import { loadConfig } from '../config/index.ts';
import { openBackend, UnsupportedBackendError } from './backend.ts';
import { filesToShip, referencedFiles } from './collect.ts';
import { FsSnapshotBackend } from './fs-backend.ts';
import { SnapshotError, hashFile, parseManifest, verifyFiles } from './manifest.ts';
import { gcSnapshots, publishSnapshot } from './publish.ts';
import { Replica } from './replica.ts';

let env: IngestEnv | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  env?.close();
  env = undefined;
});
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

async function ingested(records = Array.from({ length: 8 }, (_, i) => article(i + 1))) {
  env = await makeIngestEnv();
  env.writeSource(records);
  const report = await runIngestion(env.ctx);
  expect(report.status).toBe('succeeded');
  return env;
}

describe('snapshot publish', () => {
  it('ships an online backup plus exactly the active index files, with checksums, and lists it as LATEST', async () => {
    const e = await ingested();
    const root = tmp('kb-snap-');
    const backend = new FsSnapshotBackend(root);
    const { manifest } = await publishSnapshot({ db: e.db, dataDir: e.dir, backend });

    const active = e.db.prepare('SELECT id, file FROM index_versions WHERE active = 1').get() as { id: number; file: string };
    expect(manifest.versions).toEqual([{ table: 'index_versions', id: active.id, file: active.file }]);
    expect(manifest.files.map((f) => f.path).sort()).toEqual(['kb.sqlite', active.file].sort());
    expect(manifest.bytes).toBe(manifest.files.reduce((s, f) => s + f.bytes, 0));
    const dir = path.join(root, manifest.id);
    for (const f of manifest.files) expect(await hashFile(path.join(dir, f.path))).toEqual({ sha256: f.sha256, bytes: f.bytes });
    expect(await backend.latestId()).toBe(manifest.id);
    expect((await backend.list()).map((m) => m.id)).toEqual([manifest.id]);
    // No staging left behind on either side.
    expect(fs.readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(fs.readdirSync(path.join(e.dir, '.snapshot-staging'))).toEqual([]);

    // The copy is a self-contained store of the same corpus, without the publisher's locks.
    const Database = (await import('better-sqlite3')).default;
    const copy = new Database(path.join(dir, 'kb.sqlite'), { readonly: true });
    try {
      expect(copy.prepare('SELECT count(*) FROM chunks').pluck().get()).toBe(e.db.prepare('SELECT count(*) FROM chunks').pluck().get());
      expect(copy.prepare('SELECT count(*) FROM locks').pluck().get()).toBe(0);
    } finally {
      copy.close();
    }
  });

  it('verification names a corrupted or truncated file', async () => {
    const e = await ingested();
    const root = tmp('kb-snap-');
    const { manifest } = await publishSnapshot({ db: e.db, dataDir: e.dir, backend: new FsSnapshotBackend(root) });
    const dir = path.join(root, manifest.id);
    await expect(verifyFiles(dir, manifest)).resolves.toBeUndefined();
    const index = manifest.files.find((f) => f.path !== 'kb.sqlite')!;
    const abs = path.join(dir, index.path);
    const bytes = fs.readFileSync(abs);
    bytes[bytes.length - 1] ^= 0xff; // same size, different content
    fs.writeFileSync(abs, bytes);
    await expect(verifyFiles(dir, manifest)).rejects.toThrow(new RegExp(`${index.path}.*checksum mismatch`));
    await expect(verifyFiles(dir, manifest, { sizesOnly: true })).resolves.toBeUndefined();
    fs.truncateSync(abs, 10);
    await expect(verifyFiles(dir, manifest, { sizesOnly: true })).rejects.toThrow(/has 10 bytes/);
  });

  it('discovers files of any versions table (a new index kind joins without code changes)', async () => {
    const e = await ingested();
    fs.mkdirSync(path.join(e.dir, 'index', 'bm25-v1'), { recursive: true });
    fs.writeFileSync(path.join(e.dir, 'index', 'bm25-v1', 'postings.bin'), 'p');
    fs.writeFileSync(path.join(e.dir, 'index', 'bm25-v1', 'terms.bin'), 't');
    fs.writeFileSync(path.join(e.dir, 'index', 'bm25-old.bin'), 'old');
    e.db.exec("CREATE TABLE bm25_versions (id INTEGER PRIMARY KEY, file TEXT NOT NULL, active INTEGER NOT NULL); INSERT INTO bm25_versions VALUES (1, 'index/bm25-old.bin', 0), (2, 'index/bm25-v1', 1);");
    const refs = referencedFiles(e.db);
    expect(refs.map((r) => r.table)).toEqual(['bm25_versions', 'index_versions']);
    // The HNSW versions record their files' checksums (migration 006); this synthetic table does not.
    expect(refs.find((r) => r.table === 'bm25_versions')!.sha256).toBeNull();
    expect(refs.find((r) => r.table === 'index_versions')!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const files = filesToShip(e.dir, refs);
    expect(files).toContain('index/bm25-v1/postings.bin');
    expect(files).toContain('index/bm25-v1/terms.bin');
    expect(files).not.toContain('index/bm25-old.bin');

    // A versions table that names its column `path` and records checksums: a file whose bytes
    // differ from the recorded checksum refuses to publish.
    const { createHash } = await import('node:crypto');
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    e.db.exec(`CREATE TABLE other_versions (id INTEGER PRIMARY KEY, path TEXT, sha256 TEXT, active INTEGER); INSERT INTO other_versions VALUES (1, 'index/other.bin', '${sha('good')}', 1);`);
    fs.writeFileSync(path.join(e.dir, 'index', 'other.bin'), 'good');
    expect(referencedFiles(e.db).find((r) => r.table === 'other_versions')).toEqual({ table: 'other_versions', id: 1, file: 'index/other.bin', sha256: sha('good') });
    const root = tmp('kb-snap-');
    const ok = await publishSnapshot({ db: e.db, dataDir: e.dir, backend: new FsSnapshotBackend(root) });
    expect(ok.manifest.files.map((f) => f.path)).toContain('index/other.bin');
    fs.writeFileSync(path.join(e.dir, 'index', 'other.bin'), 'bad!');
    await expect(publishSnapshot({ db: e.db, dataDir: e.dir, backend: new FsSnapshotBackend(root) })).rejects.toThrow(/other\.bin does not match the checksum/);
    expect((await new FsSnapshotBackend(root).list()).length).toBe(1);
    e.db.exec('DROP TABLE other_versions');

    e.db.prepare("UPDATE bm25_versions SET file = '../../etc/passwd' WHERE id = 2").run();
    expect(() => filesToShip(e.dir, referencedFiles(e.db))).toThrow(/outside the data folder/);
    e.db.prepare("UPDATE bm25_versions SET file = 'index/gone.bin' WHERE id = 2").run();
    expect(() => filesToShip(e.dir, referencedFiles(e.db))).toThrow(/ENOENT/);
  });

  it('garbage collection keeps the newest N and the LATEST target, and removes abandoned uploads', async () => {
    const e = await ingested();
    const root = tmp('kb-snap-');
    const backend = new FsSnapshotBackend(root);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest.id);
    expect(ids).toEqual([...ids].sort()); // ids sort by creation time

    // Roll LATEST back to the oldest: GC must keep it although it is not among the newest 2.
    fs.writeFileSync(path.join(root, 'LATEST'), `${ids[0]}\n`);
    fs.mkdirSync(path.join(root, '.tmp-dead-upload'));
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(root, '.tmp-dead-upload'), old, old);
    fs.mkdirSync(path.join(root, '.tmp-live-upload'));
    const removed = await gcSnapshots(backend, 2, { tmpMaxAgeMs: 3600_000 });
    expect(removed).toEqual([ids[1]]);
    expect((await backend.list()).map((m) => m.id)).toEqual([ids[0], ids[2], ids[3]]);
    expect((await backend.latest())?.id).toBe(ids[0]);
    expect(fs.existsSync(path.join(root, '.tmp-dead-upload'))).toBe(false);
    expect(fs.existsSync(path.join(root, '.tmp-live-upload'))).toBe(true);
    await expect(gcSnapshots(backend, 0)).rejects.toThrow(/positive integer/);
  });

  it('skips incomplete snapshots and rejects bad manifests and unsupported locations', async () => {
    const root = tmp('kb-snap-');
    const backend = new FsSnapshotBackend(root);
    expect(await backend.latest()).toBeNull();
    fs.mkdirSync(path.join(root, '20261130T141500123Z-0000abcd')); // no manifest yet: upload in progress
    expect(await backend.list()).toEqual([]);
    expect(() => parseManifest('{"format":"kb-snapshot/1"}', 'x')).toThrow(SnapshotError);
    expect(() =>
      parseManifest(
        JSON.stringify({ format: 'kb-snapshot/1', id: '20261130T141500123Z-0000abcd', created_at: 'now', store: 'kb.sqlite', versions: [], bytes: 1, files: [{ path: '../x', bytes: 1, sha256: 'a'.repeat(64) }] }),
        'x',
      ),
    ).toThrow(/relative path inside the snapshot/);
    expect(() => openBackend('s3://bucket/prefix', root)).toThrow(UnsupportedBackendError);
    expect(openBackend('snaps', root).location).toBe(path.join(root, 'snaps'));
    expect(() => openBackend('', root)).toThrow(/no snapshot location/);
  });
});

describe('publish after ingestion', () => {
  it('publishes at the end of a successful run and records it; a broken target warns without failing the run', async () => {
    const root = tmp('kb-snap-');
    env = await makeIngestEnv({ snapshot: { target: path.join(root, 'snaps') } });
    env.writeSource(Array.from({ length: 5 }, (_, i) => article(i + 1)));
    const ok = await runIngestion(env.ctx);
    expect(ok.status).toBe('succeeded');
    expect(ok.snapshot).toMatchObject({ id: expect.any(String), bytes: expect.any(Number) });
    const id = (ok.snapshot as { id: string }).id;
    expect(await new FsSnapshotBackend(path.join(root, 'snaps')).latestId()).toBe(id);
    const stored = JSON.parse(env.db.prepare('SELECT report FROM ingest_runs WHERE id = ?').pluck().get(ok.run_id) as string);
    expect(stored.snapshot.id).toBe(id);
    // The snapshot's copy shows the run finished, not running.
    const Database = (await import('better-sqlite3')).default;
    const copy = new Database(path.join(root, 'snaps', id, 'kb.sqlite'), { readonly: true });
    try {
      expect(copy.prepare('SELECT status FROM ingest_runs WHERE id = ?').pluck().get(ok.run_id)).toBe('succeeded');
    } finally {
      copy.close();
    }

    // A file where the target directory should be: publishing fails, the run does not.
    const blocked = path.join(root, 'not-a-dir');
    fs.writeFileSync(blocked, 'x');
    env.reopen({ snapshot: { target: blocked } });
    const warned = await runIngestion(env.ctx);
    expect(warned.status).toBe('succeeded');
    expect(warned.snapshot).toMatchObject({ error: expect.stringMatching(/EEXIST|ENOTDIR/) });
    expect(warned.warnings.join()).toMatch(/snapshot publish failed/);
    // The ingestion lock was released although the publish failed.
    expect(env.db.prepare("SELECT count(*) FROM locks WHERE name = 'ingest'").pluck().get()).toBe(0);
  });
});

describe('replica', () => {
  it('waits for the first snapshot, serves it, hot-swaps to a newer one, and deletes the old local copy', async () => {
    const e = await ingested();
    const root = tmp('kb-snap-');
    const backend = new FsSnapshotBackend(root);
    const replicaDir = tmp('kb-replica-');
    fs.cpSync(path.join(e.dir, 'models'), path.join(replicaDir, 'models'), { recursive: true });
    const config = loadConfig({ env: {}, overrides: { ...pick(e.config), data_dir: replicaDir } });
    const embedder = createEmbedder(config);
    const replica = new Replica({ config, backend, embedder, pollIntervalMs: 50 });
    cleanups.push(async () => {
      await replica.stop();
      await embedder.dispose?.();
    });
    const started = replica.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(replica.ready).toBe(false); // nothing published yet

    const first = (await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest;
    await started;
    expect(replica.status().snapshot?.id).toBe(first.id);
    const sw = replica.switch;
    const q = { query: 'Zephyrium alloy', topK: 5, filters: {}, groups: null };
    expect((await sw.retriever.retrieve(q)).hits.map((h) => h.title)).not.toContain('Zephyrium alloy plant');
    expect(sw.pinned().status()).toMatchObject({ loaded: true });

    // Week 2 on the ingestion side, then publish: the replica swaps on its next poll.
    e.writeSource([...Array.from({ length: 8 }, (_, i) => article(i + 1)), { id: 'z-1', title: 'Zephyrium alloy plant', body: 'A Zephyrium alloy plant opened in Suzhou this week, making light frames.' }]);
    expect((await runIngestion(e.ctx)).status).toBe('succeeded');
    const second = (await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest;
    expect(await replica.poll()).toBe(true);
    expect(replica.status()).toMatchObject({ snapshot: { id: second.id }, swaps: 2, last_error: null });
    expect((await sw.retriever.retrieve(q)).hits.map((h) => h.title)).toContain('Zephyrium alloy plant');
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.readdirSync(path.join(replicaDir, 'replica')).sort()).toEqual([second.id, 'CURRENT'].sort());
    expect(await replica.poll()).toBe(false); // nothing newer
    expect(replica.status().last_fetch).toMatchObject({ snapshot: second.id, reused_bytes: 0 });

    // A publish without a new index version (e.g. after `kb keys create`): the unchanged index
    // file is taken from the local copy, only the store crosses the wire.
    const third = (await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest;
    expect(third.versions).toEqual(second.versions);
    expect(await replica.poll()).toBe(true);
    const store = third.files.find((f) => f.path === 'kb.sqlite')!;
    const index = third.files.find((f) => f.path !== 'kb.sqlite')!;
    expect(replica.status().last_fetch).toMatchObject({ snapshot: third.id, downloaded_bytes: store.bytes, reused_bytes: index.bytes });
    expect((await sw.retriever.retrieve(q)).hits.map((h) => h.title)).toContain('Zephyrium alloy plant');

    // Rollback: LATEST back to the first snapshot; the replica follows it on its next poll.
    await backend.setLatest(first.id);
    expect(await replica.poll()).toBe(true);
    expect(replica.status().snapshot?.id).toBe(first.id);
    expect((await sw.retriever.retrieve(q)).hits.map((h) => h.title)).not.toContain('Zephyrium alloy plant');
    await expect(backend.setLatest('20200101T000000000Z-00000000')).rejects.toThrow(/no complete snapshot/);
  });

  it('keeps serving the current snapshot when a newer one is corrupt, and reports why', async () => {
    const e = await ingested();
    const root = tmp('kb-snap-');
    const backend = new FsSnapshotBackend(root);
    const replicaDir = tmp('kb-replica-');
    fs.cpSync(path.join(e.dir, 'models'), path.join(replicaDir, 'models'), { recursive: true });
    const config = loadConfig({ env: {}, overrides: { ...pick(e.config), data_dir: replicaDir } });
    const embedder = createEmbedder(config);
    const replica = new Replica({ config, backend, embedder, pollIntervalMs: 60_000 });
    cleanups.push(async () => {
      await replica.stop();
      await embedder.dispose?.();
    });
    const first = (await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest;
    await replica.start();
    const second = (await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest;
    // The store is always fetched (the index file, unchanged, would be reused from the local copy).
    const abs = path.join(root, second.id, second.store);
    const b = fs.readFileSync(abs);
    b[b.length - 10] ^= 0xff;
    fs.writeFileSync(abs, b);

    expect(await replica.poll()).toBe(false);
    expect(replica.status()).toMatchObject({ snapshot: { id: first.id }, last_error: { snapshot: second.id } });
    expect(replica.status().last_error?.message).toMatch(/checksum mismatch/);
    // The same broken snapshot is not fetched again on every poll: it waits for its backoff.
    expect(replica.status().failures).toBe(1);
    expect(Date.parse(replica.status().last_error!.retry_at!)).toBeGreaterThan(Date.now() + 60_000);
    expect(await replica.poll()).toBe(false);
    expect(replica.status().failures).toBe(1);
    // A newer, good snapshot is taken at once despite the backoff of the broken one.
    const third = (await publishSnapshot({ db: e.db, dataDir: e.dir, backend })).manifest;
    expect(await replica.poll()).toBe(true);
    expect(replica.status()).toMatchObject({ snapshot: { id: third.id }, last_error: null });
    expect(fs.readdirSync(path.join(replicaDir, 'replica')).filter((n) => n.startsWith('.'))).toEqual([]);

    // A restarted replica serves its local copy at once, without the source.
    await replica.stop();
    const again = new Replica({ config, backend: new FsSnapshotBackend(path.join(root, 'nowhere')), embedder, pollIntervalMs: 60_000 });
    cleanups.push(() => again.stop());
    await again.start();
    expect(again.status().snapshot?.id).toBe(third.id);
    expect(first.id < third.id).toBe(true);
  });
});

// The ingest env's config minus data_dir, as overrides for a replica's config.
function pick(c: IngestEnv['config']) {
  return { embedding: c.embedding, chunking: c.chunking, cleaning: c.cleaning };
}

import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { runIngestion } from '../../ingest/pipeline.ts';
import { activeVersion } from '../../src/vector/versions.ts';
import { DenseIndexReader } from '../../src/vector/reader.ts';
import { LocalEmbedder } from '../../src/embeddings/local.ts';
import { article, expectConsistent, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// A real `kb ingest` process is SIGKILLed mid-run; the previous index must keep serving and
// the next run must complete with nothing lost.

let env: IngestEnv;
afterEach(() => env?.close());

function spawnIngest(e: IngestEnv) {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'ingest', '--json'], {
    env: {
      ...process.env,
      KB_DATA_DIR: e.dir,
      KB_SOURCES: JSON.stringify(e.config.sources),
      KB_EMBEDDING__MODEL: 'tiny/e5',
      KB_EMBEDDING__ALLOW_REMOTE: 'false',
      KB_EMBEDDING__BATCH_SIZE: '2',
      KB_INGEST__BATCH_SIZE: '10',
      KB_CLEANING__MIN_CHARS: '10',
      KB_CHUNKING: JSON.stringify(e.config.chunking),
      KB_LOG__LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? -1 : code)));
  return { child, exited, stderr: () => stderr };
}

/** Polls SQLite (WAL lets us read while the child writes) until cond holds, then SIGKILLs the child. */
async function killWhen(cond: () => boolean, run: ReturnType<typeof spawnIngest>) {
  const deadline = Date.now() + 60_000;
  let exitedEarly = false;
  void run.exited.then(() => (exitedEarly = true));
  while (!exitedEarly && Date.now() < deadline) {
    if (cond()) {
      run.child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const code = await run.exited;
  expect(code, `child should have been killed mid-run; stderr: ${run.stderr()}`).toBe(-1);
}

async function expectServing(e: IngestEnv, versionId: number) {
  expect(activeVersion(e.db)?.id).toBe(versionId);
  const reader = new DenseIndexReader({ db: e.db, dataDir: e.dir, efSearch: 64, reloadIntervalMs: 1000 });
  await reader.start();
  const embedder = new LocalEmbedder(e.config.embedding, path.join(e.dir, 'models'));
  await embedder.load();
  const hits = reader.search(await embedder.embedQuery('battery product Shanghai'), 5);
  reader.stop();
  expect(hits.length).toBe(5);
}

describe('a process killed mid-run', () => {
  for (const stage of ['store', 'embed'] as const) {
    it(`killed during ${stage}: the previous index keeps serving and the next run completes`, async () => {
      env = await makeIngestEnv();
      const v1Records = Array.from({ length: 200 }, (_, i) => article(i + 1));
      env.writeSource(v1Records);
      expect((await runIngestion(env.ctx)).status).toBe('succeeded');
      const v1 = activeVersion(env.db)!.id;

      // Next week: 100 changed, 50 deleted, 300 new.
      const v2Records = [
        ...v1Records.slice(50, 150).map((r) => ({ ...r, body: `${r.body}\n\nCorrection for ${r.id}: the orange cherry fund closed.` })),
        ...v1Records.slice(150),
        ...Array.from({ length: 300 }, (_, i) => article(1000 + i, 'robot')),
      ];
      env.writeSource(v2Records);
      const cacheBefore = env.db.prepare('SELECT count(*) FROM embedding_cache').pluck().get() as number;
      const run = spawnIngest(env);
      const probe = {
        store: () => (env.db.prepare('SELECT count(*) FROM documents WHERE last_run_id = 2').pluck().get() as number) > 150,
        embed: () => (env.db.prepare('SELECT count(*) FROM embedding_cache').pluck().get() as number) > cacheBefore + 40,
      }[stage];
      await killWhen(probe, run);

      // The run is left 'running', the previous version still serves and the store is consistent.
      expect(env.db.prepare('SELECT status FROM ingest_runs WHERE id = 2').pluck().get()).toBe('running');
      await expectServing(env, v1);
      expectConsistent(env, { allEmbedded: false });

      // The next run takes over the dead process's lock, aborts its run record and finishes the work.
      const next = await runIngestion(env.ctx);
      expect(next.status).toBe('succeeded');
      expect(env.db.prepare('SELECT status FROM ingest_runs WHERE id = 2').pluck().get()).toBe('aborted');
      expectConsistent(env);
      const live = env.db.prepare('SELECT external_id, content_hash FROM documents WHERE deleted_at IS NULL ORDER BY external_id').all();

      // Nothing lost: the result equals a clean ingestion of the same snapshot.
      const fresh = await makeIngestEnv();
      try {
        fresh.writeSource(v2Records);
        await runIngestion(fresh.ctx);
        expect(live).toEqual(fresh.db.prepare('SELECT external_id, content_hash FROM documents WHERE deleted_at IS NULL ORDER BY external_id').all());
        const chunkCount = (e: IngestEnv) => e.db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NULL AND vector_label IS NOT NULL').pluck().get();
        expect(chunkCount(env)).toBe(chunkCount(fresh));
      } finally {
        fresh.close();
      }
      if (stage === 'embed') expect(next.embedding.cache_hits).toBeGreaterThan(0); // work done before the kill is reused
    });
  }
});

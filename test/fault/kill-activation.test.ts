import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { DenseIndexReader } from '../../src/vector/reader.ts';
import { Corpus, makeGetVectors } from '../../src/vector/test-corpus.ts';
import { loadVersion } from '../../src/vector/verify.ts';
import { activeVersion, syncDenseIndex } from '../../src/vector/versions.ts';
import { KILL, MODEL } from './support/index-params.ts';

const { dim: DIM, params: PARAMS } = KILL;

// kill -9 while a new index version is written and activated: whatever instant the kill lands
// on, the store and the active file agree (labelled chunks = live labels of the active file), a
// reader loads a verified version, and the next sync completes.

const child = path.join(projectRoot, 'test/fault/support/sync-child.ts');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function expectAgree(db: DB, dir: string): void {
  const v = activeVersion(db)!;
  const labels = loadVersion(dir, v, 16).liveLabels(); // verified (checksum) before loading
  expect(labels).toEqual(db.prepare('SELECT id FROM chunks WHERE vector_label IS NOT NULL ORDER BY id').pluck().all());
}

describe('kill -9 during index activation', () => {
  it('leaves the previous version or the complete new one active, never a mix', async () => {
    const landed: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-kill-activate-'));
      dirs.push(dir);
      const db = openStore(path.join(dir, 'kb.sqlite'));
      const corpus = new Corpus(db);
      for (let d = 0; d < 15; d++) corpus.addDocument(1000); // 15k chunks: a long activation transaction
      const v1 = await syncDenseIndex({ db, dataDir: dir, modelId: MODEL, dim: DIM, params: PARAMS, getVectors: makeGetVectors(MODEL, DIM) });

      const p = spawn(process.execPath, ['--import', 'tsx', child, dir], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_code, signal) => resolve(signal)));
      let done = false;
      void exited.then(() => (done = true));
      // The new file appears (renamed into place) right before the activation transaction.
      const newFile = path.join(dir, 'index', path.basename(v1.file!).replace(/-v\d+\.hnsw$/, `-v${v1.version_id! + 1}.hnsw`));
      while (!done && !fs.existsSync(newFile)) await new Promise((r) => setTimeout(r, 1));
      p.kill('SIGKILL');
      const signal = await exited;
      expect(signal ?? 'exited', stderr).toBe('SIGKILL');

      const active = activeVersion(db)!.id;
      landed.push(active === v1.version_id ? 'before commit' : 'after commit');
      console.log(`kill -9 attempt ${attempt}: landed ${landed.at(-1)} (new file ${fs.existsSync(newFile) ? 'in place' : 'removed or never written'})`);
      expectAgree(db, dir);
      const reader = new DenseIndexReader({ db, dataDir: dir, efSearch: 16, reloadIntervalMs: 60_000 });
      await reader.start();
      expect(reader.status()).toMatchObject({ version: active, fallback: null });
      reader.stop();

      const next = await syncDenseIndex({ db, dataDir: dir, modelId: MODEL, dim: DIM, params: PARAMS, getVectors: makeGetVectors(MODEL, DIM), rebuild: true });
      expect(next.vectors).toBe(15_000);
      expectAgree(db, dir);
      // No file of a never-activated version is left behind.
      const referenced = new Set((db.prepare('SELECT file FROM index_versions').pluck().all() as string[]).map((f) => path.basename(f)));
      expect(fs.readdirSync(path.join(dir, 'index')).filter((f) => !referenced.has(f))).toEqual([]);
      db.close();
    }
    expect(landed).toHaveLength(2);
  }, 180_000);
});

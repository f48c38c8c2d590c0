import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { Bm25Leg } from '../../src/bm25/leg.ts';
import { activeBm25Version, listBm25Versions, syncBm25Index } from '../../src/bm25/versions.ts';
import { addDocs, openTestStore, type TestStore } from '../retrieval/kit.ts';

// A process building a BM25 version is SIGKILLed while reading the chunks and after writing the
// temp file: the previous version must keep serving, the temp file must never be activated, and
// the next build must clean up and succeed.

let store: TestStore | null = null;
afterEach(() => {
  store?.cleanup();
  store = null;
});

async function buildAndKill(s: TestStore, stage: 'read' | 'write'): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/bm25/build-child.ts'), path.join(s.dir, 'kb.sqlite'), s.dir, stage], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error(`child exited before the kill point: ${out} ${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

describe('BM25 build killed mid-way', () => {
  for (const stage of ['read', 'write'] as const) {
    it(`killed while ${stage === 'read' ? 'reading chunks' : 'the file is written but not renamed'}: v1 keeps serving, the next build succeeds`, async () => {
      store = openTestStore();
      const docs = Array.from({ length: 1500 }, (_, i) => ({ id: `d${i}`, chunks: [`solar panel ${i % 7 === 0 ? 'battery' : 'farm'} report ${i}`] }));
      addDocs(store, docs);
      syncBm25Index(store.db, store.dir);
      const v1 = activeBm25Version(store.db)!;
      const leg = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
      const before = leg.search(['batteri'], 5);
      expect(before).toHaveLength(5);

      await buildAndKill(store, stage);
      const leftovers = fs.readdirSync(path.join(store.dir, 'bm25')).filter((f) => f.includes('.tmp-'));
      if (stage === 'write') expect(leftovers).toHaveLength(1); // fully written, never activated
      expect(activeBm25Version(store.db)).toEqual(v1);
      expect(listBm25Versions(store.db)).toHaveLength(1);
      const fresh = new Bm25Leg({ db: store.db, dataDir: store.dir, reloadIntervalMs: 0 });
      expect(fresh.search(['batteri'], 5)).toEqual(before);
      expect(fresh.status().version).toBe(v1.id);

      const next = syncBm25Index(store.db, store.dir, { force: true });
      expect(next.built).toBe(true);
      expect(fs.readdirSync(path.join(store.dir, 'bm25')).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(leg.search(['batteri'], 5)).toEqual(before);
      expect(leg.status().version).toBe(next.version_id);
    });
  }
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { openStore } from '../../src/store/index.ts';
import { Corpus, makeGetVectors } from '../../src/vector/test-corpus.ts';
import { syncDenseIndex } from '../../src/vector/versions.ts';
import { FUZZ, MODEL } from './support/index-params.ts';

const { dim: DIM, params: PARAMS } = FUZZ;

// Issue 10.1: bytes flipped at random offsets of a real index file (seeded, bounded) must never
// crash a process (hnswlib segfaults on a bad file: exit 139). Loads run in a child process so a
// crash shows up as a failed test instead of killing vitest.

const child = path.join(projectRoot, 'test/fault/support/corrupt-index-child.ts');
let pristine: string;
let v1: number;
let v2: number;

beforeAll(async () => {
  pristine = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-fault-pristine-'));
  const db = openStore(path.join(pristine, 'kb.sqlite'));
  const corpus = new Corpus(db);
  const sync = () => syncDenseIndex({ db, dataDir: pristine, modelId: MODEL, dim: DIM, params: PARAMS, getVectors: makeGetVectors(MODEL, DIM) });
  const ids = [corpus.addDocument(150), corpus.addDocument(150)].flat();
  v1 = (await sync()).version_id!;
  for (const id of ids.slice(0, 20)) corpus.changeChunk(id);
  corpus.addDocument(30);
  v2 = (await sync()).version_id!;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
});
afterAll(() => fs.rmSync(pristine, { recursive: true, force: true }));

function runChild(seed: number, trials: number, checksums: 'yes' | 'no'): Promise<{ code: number | null; signal: string | null; lines: any[]; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, pristine, String(seed), String(trials), checksums], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code, signal) => resolve({ code, signal, stderr, lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)) }));
  });
}

describe('a corrupted index file never crashes a process', () => {
  it('with checksums: every damaged file is refused; the previous version serves; the ingest job rebuilds', async () => {
    const r = await runChild(20261130, 24, 'yes');
    const last = r.lines.at(-1);
    expect(r.signal, `crashed after trial ${last?.trial ?? 'none'}: ${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.lines).toHaveLength(24);
    for (const t of r.lines) {
      const where = `trial ${t.trial}: ${t.len} bytes at offset ${t.offset}`;
      expect(t.served.version, where).toBe(v1);
      expect(t.served.fallback, where).toMatchObject({ activeVersion: v2, servingVersion: v1 });
      expect(t.hits, where).toBeGreaterThan(0);
      expect(t.sync, where).toMatchObject({ rebuilt: true, reason: 'active_file_corrupt' });
      expect(t.after, where).toMatchObject({ version: t.sync.version, fallback: null });
      expect(t.after.hits, where).toBe(10);
    }
  });

  it('without checksums (files written before migration 006): the structural check alone keeps every load safe', async () => {
    const r = await runChild(7, 40, 'no');
    const last = r.lines.at(-1);
    expect(r.signal, `crashed after trial ${last?.trial ?? 'none'}: ${r.stderr.slice(-2000)}`).toBeNull();
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.lines).toHaveLength(40);
    const refused = r.lines.filter((t) => t.served.fallback);
    // Damage to the header or the graph is refused; damage confined to vector values or padding
    // loads (it cannot crash hnswlib; only a checksum could see it).
    expect(refused.length).toBeGreaterThan(10);
    for (const t of refused) expect(t.served.version, `trial ${t.trial}`).toBe(v1);
    for (const t of r.lines) expect(t.after.fallback, `trial ${t.trial}`).toBeNull();
  });
});

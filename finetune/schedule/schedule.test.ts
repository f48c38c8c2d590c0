import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/lock/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { DEFAULT_SEMIANNUAL_CRON, FINETUNE_LOCK, INGEST_LOCK, runSemiannualJob, scheduleSemiannual, type SemiannualSteps } from './index.ts';

let dir: string;
let db: DB;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-sched-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function steps(over: Partial<SemiannualSteps> = {}, calls: string[] = []): SemiannualSteps {
  return {
    prepare: async () => (calls.push('prepare'), { datasetDir: '/ds' }),
    train: async (d) => (calls.push(`train:${d}`), { name: 'company-2026h1', status: 'succeeded', errorTail: null }),
    evaluate: async (r) => (calls.push(`eval:${r}`), { gatePass: true, gateReason: 'beats base' }),
    deploy: async (r) => (calls.push(`deploy:${r}`), { status: 'deployed', message: 'kb now uses company-2026h1' }),
    ...over,
  };
}
const opts = { lockTtlMs: 60_000, waitForIngestMs: 0, autoDeploy: true, pollMs: 10, sleep: async () => {} };

describe('semiannual job', () => {
  it('runs prepare → train → eval → deploy and releases its lock', async () => {
    const calls: string[] = [];
    const out = await runSemiannualJob(db, steps({}, calls), opts);
    expect(out).toEqual({ status: 'deployed', run: 'company-2026h1', reason: 'kb now uses company-2026h1' });
    expect(calls).toEqual(['prepare', 'train:/ds', 'eval:company-2026h1', 'deploy:company-2026h1']);
    expect(db.prepare('SELECT COUNT(*) FROM locks WHERE name = ?').pluck().get(FINETUNE_LOCK)).toBe(0);
  });

  it('does not deploy when the gate fails or auto_deploy is off', async () => {
    const calls: string[] = [];
    const out = await runSemiannualJob(db, steps({ evaluate: async () => ({ gatePass: false, gateReason: 'does not beat the active adapter' }) }, calls), opts);
    expect(out).toMatchObject({ status: 'not_deployed', reason: 'promotion gate: does not beat the active adapter' });
    expect(calls.some((c) => c.startsWith('deploy'))).toBe(false);
    expect(await runSemiannualJob(db, steps(), { ...opts, autoDeploy: false })).toMatchObject({ status: 'not_deployed', reason: expect.stringContaining('auto_deploy is off') });
  });

  it('stops at a failed training run with its error', async () => {
    const out = await runSemiannualJob(db, steps({ train: async () => ({ name: 'r', status: 'failed', errorTail: 'OutOfMemoryError: CUDA out of memory\n...' }) }), opts);
    expect(out).toEqual({ status: 'failed', step: 'train', run: 'r', reason: 'run r failed: OutOfMemoryError: CUDA out of memory' });
  });

  it('never overlaps itself: a second job is skipped while the lock is held', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = runSemiannualJob(db, steps({ prepare: async () => (await gate, { datasetDir: '/ds' }) }), opts);
    const second = await runSemiannualJob(db, steps(), opts);
    expect(second).toMatchObject({ status: 'skipped' });
    release();
    expect((await first).status).toBe('deployed');
  });

  it('waits for a running ingestion before reading the index, and gives up after the limit', async () => {
    const ingest = acquireLock(db, INGEST_LOCK, { ttlMs: 60_000 });
    let sleeps = 0;
    const calls: string[] = [];
    const waited = runSemiannualJob(db, steps({}, calls), {
      ...opts,
      waitForIngestMs: 1000,
      pollMs: 100,
      sleep: async () => {
        if (++sleeps === 3) ingest.release();
      },
    });
    expect((await waited).status).toBe('deployed');
    expect(sleeps).toBe(3);

    acquireLock(db, INGEST_LOCK, { ttlMs: 60_000 });
    const out = await runSemiannualJob(db, steps({}, calls), { ...opts, waitForIngestMs: 300, pollMs: 100 });
    expect(out).toMatchObject({ status: 'failed', step: 'wait', reason: expect.stringContaining('lock "ingest" is still held') });
  });

  it('validates the cron expression', () => {
    expect(() => scheduleSemiannual('not a cron', '', async () => {})).toThrow(/invalid cron/);
    const task = scheduleSemiannual(DEFAULT_SEMIANNUAL_CRON, 'UTC', async () => {});
    const next = task.getNextRun()!;
    expect([0, 6]).toContain(next.getUTCMonth());
    expect(next.getUTCDate()).toBe(1);
    expect(next.getUTCHours()).toBe(2);
    task.destroy();
  });
});

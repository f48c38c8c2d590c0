import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/index.ts';
import { openStore } from '../src/store/index.ts';
import { acquireLock, withLock } from '../src/lock/index.ts';
import { startScheduler } from './scheduler.ts';

describe('scheduler', () => {
  it('rejects an invalid cron expression', () => {
    expect(() => startScheduler({ expression: '61 * * * *', log: silentLogger, run: async () => {} })).toThrowError(/invalid cron/);
  });

  it('skips a tick while the previous run is still going', async () => {
    let release!: () => void;
    let runs = 0;
    const s = startScheduler({
      expression: '0 3 * * 1',
      log: silentLogger,
      run: () => {
        runs++;
        return new Promise<void>((r) => (release = r));
      },
    });
    const first = s.tick();
    expect(s.running).toBe(true);
    expect(await s.tick()).toBe('skipped-overlap');
    release();
    expect(await first).toBe('ran');
    expect(runs).toBe(1);
    expect(await Promise.all([s.tick(), (release(), Promise.resolve())]).then((r) => r[0])).toBe('ran');
    s.stop();
  });

  it('skips when another process holds the ingest lock, and runs once it is free', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kb-sched-')), 'kb.sqlite');
    const other = openStore(file);
    const mine = openStore(file);
    const held = acquireLock(other, 'ingest', { ttlMs: 60_000 });
    let ran = 0;
    const s = startScheduler({
      expression: '0 3 * * 1',
      log: silentLogger,
      run: () => withLock(mine, 'ingest', { ttlMs: 60_000 }, async () => void ran++),
    });
    expect(await s.tick()).toBe('skipped-locked');
    expect(ran).toBe(0);
    held.release();
    expect(await s.tick()).toBe('ran');
    expect(ran).toBe(1);
    s.stop();
  });

  it('reports a failed run and keeps scheduling', async () => {
    let calls = 0;
    const s = startScheduler({
      expression: '0 3 * * 1',
      log: silentLogger,
      run: async () => {
        calls++;
        if (calls === 1) throw new Error('source down');
      },
    });
    expect(await s.tick()).toBe('failed');
    expect(await s.tick()).toBe('ran');
    s.stop();
  });
});

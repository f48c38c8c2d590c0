import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../store/index.ts';
import { acquireLock, lockHolder, LockBusyError, LockLostError, StoreBusyError, withLock } from './index.ts';

const tmpDb = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kb-lock-')), 'kb.sqlite');

describe('locks', () => {
  it('refuses a second holder across connections and names the holder', () => {
    const file = tmpDb();
    const a = openStore(file);
    const b = openStore(file);
    const lock = acquireLock(a, 'ingest', { ttlMs: 60_000 });
    expect(() => acquireLock(b, 'ingest', { ttlMs: 60_000 })).toThrowError(LockBusyError);
    expect(() => acquireLock(b, 'ingest', { ttlMs: 60_000 })).toThrowError(/held by .*pid/);
    lock.release();
    const again = acquireLock(b, 'ingest', { ttlMs: 60_000 });
    expect(lockHolder(a, 'ingest')?.owner).toBe(again.owner);
  });

  it('lets a stale lock be taken over, and the old holder learns it lost it', () => {
    const db = openStore(tmpDb());
    let t = 1_000_000;
    const now = () => t;
    const old = acquireLock(db, 'ingest', { ttlMs: 5_000, now });
    t += 4_000;
    expect(() => acquireLock(db, 'ingest', { ttlMs: 5_000, now })).toThrowError(LockBusyError);
    old.heartbeat();
    t += 5_001;
    expect(lockHolder(db, 'ingest', now)).toBeNull();
    const taker = acquireLock(db, 'ingest', { ttlMs: 5_000, now });
    expect(() => old.heartbeat()).toThrowError(LockLostError);
    old.release(); // must not release the new owner's lock
    expect(lockHolder(db, 'ingest', now)?.owner).toBe(taker.owner);
  });

  it('when the holder is inside a write transaction, says another ingestion holds the lock and who — not just "database is locked"', () => {
    const file = tmpDb();
    const a = openStore(file);
    const b = openStore(file);
    b.pragma('busy_timeout = 100'); // the default 10 s wait would only slow the test
    const lock = acquireLock(a, 'ingest', { ttlMs: 60_000 });
    a.exec('BEGIN IMMEDIATE'); // the holder is writing a big batch
    let err: unknown;
    try {
      acquireLock(b, 'ingest', { ttlMs: 60_000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockBusyError);
    expect((err as LockBusyError).writing).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`^another ingestion run \\(or \`kb index rebuild\`\\) holds the "ingest" lock \\(held by pid ${process.pid} on host ${os.hostname()} since .+\\) and is writing to the store right now`),
    );
    expect((err as Error).message).not.toMatch(/^database is locked$/);
    a.exec('ROLLBACK');
    lock.release();

    // A writer that holds no kb lock (a sqlite3 shell, a backup tool) is named as such.
    a.exec('BEGIN IMMEDIATE');
    expect(() => acquireLock(b, 'ingest', { ttlMs: 60_000 })).toThrowError(StoreBusyError);
    expect(() => acquireLock(b, 'ingest', { ttlMs: 60_000 })).toThrowError(/write-locked by another process that holds no kb lock \(database is locked\)/);
    a.exec('ROLLBACK');
  });

  it('withLock releases on failure', async () => {
    const db = openStore(tmpDb());
    await expect(withLock(db, 'x', { ttlMs: 10_000 }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(lockHolder(db, 'x')).toBeNull();
  });
});

describe('locks held by dead processes', () => {
  it('a lock whose holder process on this host is gone can be taken at once', async () => {
    const { spawnSync } = await import('node:child_process');
    const db = openStore(tmpDb());
    const lock = acquireLock(db, 'ingest', { ttlMs: 600_000 });
    // Pretend a process that has exited held it.
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    db.prepare('UPDATE locks SET pid = ? WHERE name = ?').run(dead, 'ingest');
    const taker = acquireLock(db, 'ingest', { ttlMs: 600_000 });
    expect(lockHolder(db, 'ingest')?.owner).toBe(taker.owner);
    expect(() => lock.heartbeat()).toThrowError(LockLostError);
  });
});

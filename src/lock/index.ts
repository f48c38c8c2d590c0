import os from 'node:os';
import type { DB } from '../store/index.ts';

/**
 * Cross-process locks in SQLite (table `locks`). A holder heartbeats; a lock whose heartbeat
 * is older than its ttl is stale (the holder crashed or was killed) and may be taken over.
 * Acquisition is one IMMEDIATE transaction, so two processes can never both win.
 */
export interface Lock {
  name: string;
  owner: string;
  /** Refreshes the heartbeat; throws LockLostError when another process took the lock over. */
  heartbeat(): void;
  release(): void;
}

export class LockBusyError extends Error {
  /** e.g. 'ingest_running' for the ingest lock — what HTTP callers see as the error code. */
  readonly code: string;
  constructor(
    readonly lockName: string,
    readonly holder: { owner: string; pid: number | null; acquired_at: string },
  ) {
    super(`lock "${lockName}" is held by ${holder.owner} (pid ${holder.pid ?? '?'}) since ${holder.acquired_at}`);
    this.name = 'LockBusyError';
    this.code = `${lockName}_running`;
  }
}

export class LockLostError extends Error {
  constructor(lockName: string) {
    super(`lock "${lockName}" was lost (expired and taken over by another process)`);
    this.name = 'LockLostError';
  }
}

interface LockRow {
  name: string;
  owner: string;
  pid: number | null;
  acquired_at: string;
  heartbeat: number;
  ttl_ms: number;
}

let counter = 0;
const newOwner = () => `${os.hostname()}:${process.pid}:${Date.now().toString(36)}:${++counter}`;

/** A holder on this host whose process is gone (killed, crashed) need not wait out the ttl. */
function holderIsDeadLocally(row: LockRow): boolean {
  if (!row.pid || row.owner.split(':')[0] !== os.hostname() || row.pid === process.pid) return false;
  try {
    process.kill(row.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface AcquireOptions {
  ttlMs: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Takes the lock or throws LockBusyError naming the holder. */
export function acquireLock(db: DB, name: string, opts: AcquireOptions): Lock {
  const now = opts.now ?? Date.now;
  const owner = newOwner();
  const take = db.transaction(() => {
    const row = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as LockRow | undefined;
    if (row && now() - row.heartbeat <= row.ttl_ms && !holderIsDeadLocally(row)) throw new LockBusyError(name, row);
    db.prepare(
      `INSERT INTO locks (name, owner, pid, acquired_at, heartbeat, ttl_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, pid = excluded.pid,
         acquired_at = excluded.acquired_at, heartbeat = excluded.heartbeat, ttl_ms = excluded.ttl_ms`,
    ).run(name, owner, process.pid, new Date(now()).toISOString(), now(), opts.ttlMs);
  });
  take.immediate();
  return {
    name,
    owner,
    heartbeat() {
      const r = db.prepare('UPDATE locks SET heartbeat = ? WHERE name = ? AND owner = ?').run(now(), name, owner);
      if (r.changes === 0) throw new LockLostError(name);
    },
    release() {
      db.prepare('DELETE FROM locks WHERE name = ? AND owner = ?').run(name, owner);
    },
  };
}

/** The current holder of a lock, or null when free or stale. */
export function lockHolder(db: DB, name: string, now: () => number = Date.now): LockRow | null {
  const row = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as LockRow | undefined;
  if (!row || now() - row.heartbeat > row.ttl_ms || holderIsDeadLocally(row)) return null;
  return row;
}

/** Runs fn while holding the lock, heartbeating every ttl/3; always releases. */
export async function withLock<T>(db: DB, name: string, opts: AcquireOptions, fn: (lock: Lock) => Promise<T>): Promise<T> {
  const lock = acquireLock(db, name, opts);
  const timer = setInterval(() => {
    try {
      lock.heartbeat();
    } catch {
      /* surfaced by the holder's next explicit heartbeat */
    }
  }, Math.max(1000, Math.floor(opts.ttlMs / 3)));
  timer.unref();
  try {
    return await fn(lock);
  } finally {
    clearInterval(timer);
    lock.release();
  }
}

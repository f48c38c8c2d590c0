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

const WHAT: Record<string, string> = { ingest: 'another ingestion run (or `kb index rebuild`)', finetune: 'another fine-tune job' };

/** "pid 123 on host db1, since …" from a lock row (owner is host:pid:…). */
export function describeHolder(holder: { owner: string; pid: number | null; acquired_at: string }): string {
  const host = holder.owner.split(':')[0] || '?';
  return `held by pid ${holder.pid ?? '?'} on host ${host} since ${holder.acquired_at}`;
}

export class LockBusyError extends Error {
  /** e.g. 'ingest_running' for the ingest lock — what HTTP callers see as the error code. */
  readonly code: string;
  constructor(
    readonly lockName: string,
    readonly holder: { owner: string; pid: number | null; acquired_at: string },
    /** True when the holder was found inside a write transaction (the store itself was busy). */
    readonly writing = false,
  ) {
    super(
      `${WHAT[lockName] ?? `another process`} holds the "${lockName}" lock (${describeHolder(holder)})${writing ? ' and is writing to the store right now' : ''}. ` +
        `Wait for it to finish (\`kb status\` shows the last run), or stop that process; a lock whose process died is taken over automatically.`,
    );
    this.name = 'LockBusyError';
    this.code = `${lockName}_running`;
  }
}

/** The store stayed write-locked past busy_timeout by a writer that holds no kb lock (e.g. a sqlite3 shell, a backup tool). */
export class StoreBusyError extends Error {
  readonly code = 'store_busy';
  constructor(lockName: string, cause: unknown) {
    super(
      `cannot take the "${lockName}" lock: the store is write-locked by another process that holds no kb lock (${(cause as Error).message}); ` +
        'look for a sqlite3 shell, a backup or another tool writing kb.sqlite (e.g. `fuser kb.sqlite`)',
      { cause },
    );
    this.name = 'StoreBusyError';
  }
}

const isBusy = (err: unknown): boolean => String((err as { code?: unknown })?.code ?? '').startsWith('SQLITE_BUSY');

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
  try {
    take.immediate();
  } catch (err) {
    if (!isBusy(err)) throw err;
    // Another connection held the write lock for longer than busy_timeout. In WAL mode we can
    // still read: name the holder of our lock when there is one (it is mid-transaction).
    let row: LockRow | undefined;
    try {
      row = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as LockRow | undefined;
    } catch {
      row = undefined;
    }
    if (row) throw new LockBusyError(name, row, true);
    throw new StoreBusyError(name, err);
  }
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

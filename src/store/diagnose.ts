import fs from 'node:fs';
import path from 'node:path';

// Turns SQLite and file-system errors into what happened, where, and what to do. SQLite's own
// texts ("unable to open database file", "database or disk is full") name neither the file nor
// the cause; an operator at 3 a.m. needs both.

export type StoreFault = 'disk_full' | 'permission' | 'damaged' | 'locked' | 'missing' | 'other';

export class StoreError extends Error {
  constructor(
    readonly fault: StoreFault,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

const code = (err: unknown): string => String((err as { code?: unknown })?.code ?? '');

export function faultOf(err: unknown): StoreFault {
  if (err instanceof StoreError) return err.fault;
  const c = code(err);
  if (c === 'SQLITE_FULL' || c === 'ENOSPC' || c === 'EDQUOT') return 'disk_full';
  if (c.startsWith('SQLITE_READONLY') || c === 'SQLITE_PERM' || c === 'SQLITE_AUTH' || c === 'EACCES' || c === 'EPERM' || c === 'EROFS') return 'permission';
  if (c.startsWith('SQLITE_CORRUPT') || c === 'SQLITE_NOTADB') return 'damaged';
  if (c.startsWith('SQLITE_BUSY') || c.startsWith('SQLITE_LOCKED')) return 'locked';
  if (c.startsWith('SQLITE_CANTOPEN') || c === 'ENOENT') return 'missing';
  return 'other';
}

function freeSpace(p: string): string {
  try {
    const s = fs.statfsSync(p);
    return `${((s.bavail * s.bsize) / 2 ** 20).toFixed(1)} MiB free`;
  } catch {
    return 'free space unknown';
  }
}

function writable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why `file`'s folder or the file itself cannot be written, or null when both look writable. */
function permissionProblem(file: string): string | null {
  const dir = path.dirname(file);
  const who = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
  if (!fs.existsSync(dir)) return `the data folder ${dir} does not exist and could not be created`;
  if (!writable(dir)) return `the data folder ${dir} is not writable by this user${who}: permission denied (SQLite creates ${path.basename(file)}-wal and -shm beside the store)`;
  if (fs.existsSync(file) && !writable(file)) return `the store file ${file} is read-only for this user${who}: permission denied`;
  for (const side of ['-wal', '-shm']) {
    if (fs.existsSync(file + side) && !writable(file + side)) return `${file}${side} is read-only for this user${who}: permission denied`;
  }
  return null;
}

export const DAMAGED_RECOVERY =
  'Recovery: stop every kb process, then either restore kb.sqlite from a backup, or salvage it with the sqlite3 shell ' +
  '(`sqlite3 kb.sqlite ".recover" | sqlite3 kb-recovered.sqlite`, then move kb-recovered.sqlite into place), or move it aside and re-ingest ' +
  'into a fresh store (`kb ingest` rebuilds documents, chunks and the dense index from the sources; API keys, quarantine history and the fine-tune registry are not in the sources and must be recreated). ' +
  '`kb index rebuild` does not help: the index is derived from this database.';

/** An error about the store at `file`, rewritten to say what happened, where, and what to do. */
export function describeStoreError(err: unknown, file: string, doing = 'use'): StoreError {
  if (err instanceof StoreError) return err;
  const original = (err as Error)?.message ?? String(err);
  const fault = faultOf(err);
  const c = code(err);
  switch (fault) {
    case 'disk_full':
      return new StoreError(fault, `disk full: cannot write the store ${file} (${c}; ${freeSpace(path.dirname(file))}). Free space on that filesystem (or move data_dir) and rerun.`, { cause: err });
    case 'permission':
    case 'missing': {
      const why = permissionProblem(file);
      if (why) return new StoreError('permission', `cannot ${doing} the store ${file}: ${why}. Fix the ownership/permissions (chown/chmod) or point KB_DATA_DIR at a writable folder. (${original})`, { cause: err });
      return new StoreError(fault, `cannot ${doing} the store ${file}: ${original} (${c})`, { cause: err });
    }
    case 'damaged':
      return new StoreError(fault, `the store ${file} is damaged (${original}). ${DAMAGED_RECOVERY}`, { cause: err });
    case 'locked':
      return new StoreError(fault, `the store ${file} is locked by another process's write transaction (${original})`, { cause: err });
    default:
      return new StoreError(fault, `cannot ${doing} the store ${file}: ${original}${c ? ` (${c})` : ''}`, { cause: err });
  }
}

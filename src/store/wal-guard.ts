import fs from 'node:fs';
import type { DB } from './index.ts';

// A WAL-mode store is three files: kb.sqlite, kb.sqlite-wal, kb.sqlite-shm. Deleting (or
// replacing) the -wal/-shm pair under a running process is silent: that process keeps using the
// unlinked files, the next process creates new ones, and the two disagree about the database —
// the next write leaves it malformed. SQLite cannot notice; comparing inodes can, cheaply.

export interface SidecarGuard {
  /** null while the files this connection uses are still the ones on disk; else what changed. */
  check(): string | null;
}

function inode(file: string): number | null {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
  }
}

export function guardSidecars(db: DB): SidecarGuard {
  const file = db.name;
  if (!file || file === ':memory:' || db.memory) return { check: () => null };
  const watched = [file, `${file}-wal`, `${file}-shm`];
  const seen = new Map<string, number | null>(watched.map((f) => [f, inode(f)]));
  return {
    check() {
      for (const f of watched) {
        const before = seen.get(f) ?? null;
        const now = inode(f);
        if (before === null) {
          seen.set(f, now); // not created yet when we started (first use creates it)
          continue;
        }
        if (now === null || now !== before) {
          return `${f} was ${now === null ? 'deleted' : 'replaced'} while this process had the store open: this process now uses a copy no other process sees, and writes from both will damage the store. Stop every kb process, then start again (the start-up check runs PRAGMA quick_check and names the recovery if the store is damaged)`;
        }
      }
      return null;
    },
  };
}

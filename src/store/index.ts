import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DAMAGED_RECOVERY, StoreError, describeStoreError } from './diagnose.ts';

export type DB = Database.Database;

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Migrations are the files migrations/NNN_name.sql, applied in order, each in one transaction. */
export function listMigrations(dir = migrationsDir): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

export function migrate(db: DB, migrations = listMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`);
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const done: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(m.version, m.name);
    })();
    done.push(m.version);
  }
  return done;
}

export interface OpenOptions {
  readonly?: boolean;
  /**
   * Run `PRAGMA quick_check` after opening and refuse a damaged store (StoreError 'damaged').
   * It reads every page (about a second per GB): the server, the ingest job and the index tools
   * ask for it at start; quick commands do not.
   */
  check?: boolean;
}

/**
 * Opens (creating if needed) the SQLite store in WAL mode and applies pending migrations.
 * WAL lets the server read while the weekly job writes; busy_timeout makes concurrent
 * writers wait instead of failing. Failures say what happened and where (StoreError).
 */
export function openStore(file: string, opts: OpenOptions = {}): DB {
  let db: DB | undefined;
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    db = new Database(file, { readonly: opts.readonly ?? false });
    db.pragma('busy_timeout = 10000');
    if (opts.check) quickCheck(db, file);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    }
    return db;
  } catch (err) {
    db?.close();
    throw describeStoreError(err, file, 'open');
  }
}

/** Throws StoreError('damaged') naming the problems and the recovery when the store fails quick_check. */
export function quickCheck(db: DB, file: string): void {
  const rows = db.pragma('quick_check(10)', { simple: false }) as Array<Record<string, string>>;
  const found = rows.map((r) => Object.values(r)[0]);
  if (found.length === 1 && found[0] === 'ok') return;
  throw new StoreError('damaged', `the store ${file} is damaged: PRAGMA quick_check reports: ${found.slice(0, 5).join('; ')}${found.length > 5 ? '; …' : ''}. ${DAMAGED_RECOVERY}`);
}

export const nowIso = (): string => new Date().toISOString();

/** The store of a configuration: <data_dir>/kb.sqlite (the CLI and the server open the same file). */
export function storePath(config: { data_dir: string }): string {
  return path.join(config.data_dir, 'kb.sqlite');
}

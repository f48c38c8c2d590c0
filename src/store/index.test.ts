import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listMigrations, migrate, openStore } from './index.ts';

describe('store', () => {
  it('opens in WAL mode and applies every migration once', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kb-store-')), 'kb.sqlite');
    const db = openStore(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(versions).toEqual(listMigrations().map((m) => m.version));
    expect(migrate(db)).toEqual([]);
    db.close();
    const again = openStore(file);
    expect(again.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'documents'").pluck().get()).toBe(1);
    again.close();
  });

  it('rolls back a failing migration as a whole', () => {
    const db = openStore(':memory:');
    const bad = [{ version: 999, name: '999_bad', sql: 'CREATE TABLE t1 (x); CREATE TABLE broken (' }];
    expect(() => migrate(db, bad)).toThrow();
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 't1'").pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM schema_migrations WHERE version = 999').pluck().get()).toBe(0);
  });
});

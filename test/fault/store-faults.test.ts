import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { loadConfig, projectRoot } from '../../src/config/index.ts';
import { openContext } from '../../cli/context.ts';
import { StoreError } from '../../src/store/diagnose.ts';
import { openStore } from '../../src/store/index.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// Issue 10.7: diagnostics that say what happened (disk full, which path, permission), report
// rolled-back work as rolled back, and refuse a damaged store at start with the recovery.

let env: IngestEnv | null = null;
const dirs: string[] = [];
afterEach(() => {
  env?.close();
  env = null;
  for (const d of dirs.splice(0)) {
    fs.chmodSync(d, 0o755);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

const count = (e: IngestEnv, sql: string, ...args: unknown[]) => e.db.prepare(sql).pluck().get(...args) as number;

describe('disk full during ingestion', () => {
  it('says "disk full" with the path, reports only committed work, and names what was rolled back', async () => {
    env = await makeIngestEnv({ ingest: { batch_size: 20 } }, { model: false });
    env.writeSource(Array.from({ length: 10 }, (_, i) => article(i + 1)));
    expect((await runIngestion(env.ctx, { embedder: null })).status).toBe('succeeded');

    // SQLite's own "database or disk is full" (SQLITE_FULL), injected at the store's write
    // point: the file may grow only a few pages, so a later batch's transaction fails.
    const pages = env.db.pragma('page_count', { simple: true }) as number;
    env.db.pragma(`max_page_count = ${pages + 12}`);
    env.writeSource(Array.from({ length: 300 }, (_, i) => article(i + 1, 'battery', 'x'.repeat(400))));
    const report = await runIngestion(env.ctx, { embedder: null });

    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/^disk full: cannot write the store .*kb\.sqlite \(SQLITE_FULL;/);
    expect(report.error).toMatch(/rolled back \(20 record\(s\) not written\)/);
    expect(report.error).not.toMatch(/could not be read/);
    expect(report.sources.news.error).toBeUndefined();
    expect(report.rolled_back).toEqual({ records: 20, fault: 'disk_full' });
    // The report's counts are exactly what is in the store.
    const runId = report.run_id;
    const written = count(env, 'SELECT count(*) FROM documents WHERE last_run_id = ? AND first_seen = last_seen', runId);
    const changed = count(env, 'SELECT count(*) FROM documents WHERE last_run_id = ? AND first_seen <> last_seen', runId);
    expect(report.docs.new + report.docs.changed).toBe(written + changed);
    expect(report.docs.new + report.docs.changed).toBeLessThan(300);

    // Space comes back: the next run completes from the committed state.
    env.db.pragma('max_page_count = 1073741823');
    const next = await runIngestion(env.ctx, { embedder: null });
    expect(next.status).toBe('succeeded');
    expect(count(env, 'SELECT count(*) FROM documents WHERE deleted_at IS NULL')).toBe(300);
  });
});

describe('a damaged store', { timeout: 120_000 }, () => {
  it('is refused at open (quick_check) with the recovery named', async () => {
    env = await makeIngestEnv({}, { model: false });
    env.writeSource(Array.from({ length: 40 }, (_, i) => article(i + 1)));
    await runIngestion(env.ctx, { embedder: null });
    env.db.pragma('wal_checkpoint(TRUNCATE)');
    env.close();
    const file = path.join(env.dir, 'kb.sqlite');
    const bytes = fs.readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    // Scribble over an interior b-tree page (not page 1, so SQLite still opens the file).
    bytes.fill(0x37, pageSize * 3 + 8, pageSize * 4);
    fs.writeFileSync(file, bytes);

    let err: unknown;
    try {
      openStore(file, { check: true }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).fault).toBe('damaged');
    expect((err as Error).message).toMatch(new RegExp(`the store ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged`));
    expect((err as Error).message).toMatch(/restore kb\.sqlite from a backup.*\.recover.*re-ingest/);

    // The check follows store.check_on_start.
    const configFor = (check: 'quick' | 'off') => loadConfig({ env: {}, overrides: { data_dir: env!.dir, store: { check_on_start: check } } });
    expect(() => openContext(configFor('quick'), { check: true })).toThrow(/is damaged: PRAGMA quick_check reports/);
    openContext(configFor('off'), { check: true }).close();

    const cli = spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'ingest'], {
      env: { ...process.env, KB_DATA_DIR: env.dir, KB_LOG__LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/kb: .*is damaged.*Recovery:/s);
    env = null;
  });
});

describe('a data folder this user cannot write', { timeout: 120_000 }, () => {
  it('names the folder and the permission problem instead of "unable to open database file"', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-ro-'));
    dirs.push(dir);
    openStore(path.join(dir, 'kb.sqlite')).close();
    fs.chmodSync(dir, 0o555);
    fs.chmodSync(path.join(dir, 'kb.sqlite'), 0o644);
    // root ignores permission bits: run the CLI as an unprivileged user then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'status'], {
      env: { ...process.env, KB_DATA_DIR: dir, KB_LOG__LEVEL: 'warn', HOME: os.tmpdir() },
      encoding: 'utf8',
      timeout: 60_000,
      ...asUser,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toMatch(/permission denied/);
    expect(r.stderr).not.toMatch(/^kb: unable to open database file$/m);
  });
});

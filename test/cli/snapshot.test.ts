import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { projectRoot } from '../../src/config/index.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// `kb snapshot publish|list|gc` as an operator runs them.

let env: IngestEnv;
afterAll(() => env?.close());

const kb = (args: string[], extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), ...args], {
    env: { ...process.env, KB_DATA_DIR: env.dir, KB_LOG__LEVEL: 'silent', KB_SNAPSHOT__TARGET: '', ...extraEnv },
    encoding: 'utf8',
    timeout: 120_000,
  });

describe('kb snapshot', () => {
  it('publishes, lists with LATEST marked, garbage-collects, and refuses bad input with a clear message', async () => {
    env = await makeIngestEnv();
    env.writeSource(Array.from({ length: 4 }, (_, i) => article(i + 1)));
    expect((await runIngestion(env.ctx)).status).toBe('succeeded');
    const target = path.join(env.dir, 'published');

    const first = kb(['snapshot', 'publish', '--to', target, '--json']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const m1 = JSON.parse(first.stdout) as { id: string; files: Array<{ path: string }>; versions: unknown[] };
    expect(m1.files.map((f) => f.path)).toContain('kb.sqlite');
    expect(m1.versions).toHaveLength(1);
    // Configured target instead of the flag; human-readable output.
    const second = kb(['snapshot', 'publish'], { KB_SNAPSHOT__TARGET: target });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^published \d{8}T\d{9}Z-[0-9a-f]{8}: 2 files, .* → /);

    const list = JSON.parse(kb(['snapshot', 'list', '--from', target, '--json']).stdout) as { latest: string; snapshots: Array<{ id: string }> };
    expect(list.snapshots).toHaveLength(2);
    expect(list.snapshots[0].id).toBe(m1.id);
    expect(list.latest).toBe(list.snapshots[1].id);
    expect(kb(['snapshot', 'list', '--from', target]).stdout).toMatch(new RegExp(`^\\* ${list.latest}`, 'm'));

    const gc = kb(['snapshot', 'gc', '--at', target, '--keep', '1']);
    expect(gc.stdout.trim()).toBe(`removed ${m1.id}`);
    expect(fs.existsSync(path.join(target, m1.id))).toBe(false);
    expect(kb(['snapshot', 'gc', '--at', target, '--keep', '1']).stdout.trim()).toBe('nothing to remove');

    const noTarget = kb(['snapshot', 'publish']);
    expect(noTarget.status).toBe(1);
    expect(noTarget.stderr).toMatch(/no snapshot location: set snapshot.target or pass --to/);
    const badKeep = kb(['snapshot', 'gc', '--at', target, '--keep', '0']);
    expect(badKeep.status).not.toBe(0);
    expect(badKeep.stderr).toMatch(/--keep must be a positive integer/);
    const s3 = kb(['snapshot', 'list', '--from', 's3://bucket/kb']);
    expect(s3.status).toBe(1);
    expect(s3.stderr).toMatch(/only filesystem directories are supported/);
  }, 240_000); // eleven CLI processes (tsx start-up each)
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { main } from '../../cli/main.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// `kb snapshot publish|list|promote|gc` as an operator runs them (the CLI's main(), in process: a child
// process per command would cost a tsx start-up each; test/cli/serve.test.ts covers the binary).

let env: IngestEnv;
const saved = { ...process.env };
afterAll(() => {
  env?.close();
  process.env = saved;
});

async function kb(args: string[], extraEnv: Record<string, string> = {}) {
  process.env = { ...saved, KB_DATA_DIR: env.dir, KB_LOG__LEVEL: 'silent', KB_SNAPSHOT__TARGET: '', ...extraEnv };
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((c: string) => ((stdout += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await main(args);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const status = process.exitCode ?? 0;
  process.exitCode = 0;
  return { stdout, stderr, status };
}

describe('kb snapshot', () => {
  it('publishes, lists with LATEST marked, garbage-collects, rolls back, and refuses bad input with a clear message', async () => {
    env = await makeIngestEnv();
    env.writeSource(Array.from({ length: 4 }, (_, i) => article(i + 1)));
    expect((await runIngestion(env.ctx)).status).toBe('succeeded');
    const target = path.join(env.dir, 'published');

    const first = await kb(['snapshot', 'publish', '--to', target, '--json']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const m1 = JSON.parse(first.stdout) as { id: string; files: Array<{ path: string }>; versions: Array<{ table: string }> };
    expect(m1.files.map((f) => f.path)).toContain('kb.sqlite');
    expect(m1.versions.map((v) => v.table)).toEqual(['bm25_versions', 'index_versions']); // the BM25 engine file and the HNSW file
    // Configured target instead of the flag; human-readable output.
    const second = await kb(['snapshot', 'publish'], { KB_SNAPSHOT__TARGET: target });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^published \d{8}T\d{9}Z-[0-9a-f]{8}: 3 files, .* → /);

    const list = JSON.parse((await kb(['snapshot', 'list', '--from', target, '--json'])).stdout) as { latest: string; snapshots: Array<{ id: string }> };
    expect(list.snapshots).toHaveLength(2);
    expect(list.snapshots[0].id).toBe(m1.id);
    expect(list.latest).toBe(list.snapshots[1].id);
    expect((await kb(['snapshot', 'list', '--from', target])).stdout).toMatch(new RegExp(`^\\* ${list.latest}`, 'm'));

    const gc = await kb(['snapshot', 'gc', '--at', target, '--keep', '1']);
    expect(gc.stdout.trim()).toBe(`removed ${m1.id}`);
    expect(fs.existsSync(path.join(target, m1.id))).toBe(false);
    expect((await kb(['snapshot', 'gc', '--at', target, '--keep', '1'])).stdout.trim()).toBe('nothing to remove');

    // Rollback: LATEST back to an older snapshot (a newer one is published first); GC keeps it.
    const third = JSON.parse((await kb(['snapshot', 'publish', '--to', target, '--json'])).stdout) as { id: string };
    const promote = await kb(['snapshot', 'promote', list.latest, '--at', target]);
    expect(promote.stdout.trim()).toBe(`LATEST: ${third.id} → ${list.latest}`);
    expect(fs.readFileSync(path.join(target, 'LATEST'), 'utf8').trim()).toBe(list.latest);
    expect((await kb(['snapshot', 'gc', '--at', target, '--keep', '1'])).stdout.trim()).toBe('nothing to remove');
    const unknown = await kb(['snapshot', 'promote', '20200101T000000000Z-00000000', '--at', target]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no complete snapshot 20200101T000000000Z-00000000/);

    const noTarget = await kb(['snapshot', 'publish']);
    expect(noTarget.status).toBe(1);
    expect(noTarget.stderr).toMatch(/no snapshot location: set snapshot.target or pass --to/);
    const badKeep = await kb(['snapshot', 'gc', '--at', target, '--keep', '0']);
    expect(badKeep.status).not.toBe(0);
    expect(badKeep.stderr).toMatch(/--keep must be a positive integer/);
    const s3 = await kb(['snapshot', 'list', '--from', 's3://bucket/kb']);
    expect(s3.status).toBe(1);
    expect(s3.stderr).toMatch(/only filesystem directories are supported/);
  });
});

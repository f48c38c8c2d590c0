import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { runIngestion } from '../../ingest/pipeline.ts';
import { activeVersion } from '../../src/vector/versions.ts';
import { article, expectConsistent, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// Issue 10.1 end to end: the documented commands on a data folder whose active index file was
// damaged (the header's entry point overwritten: a SIGSEGV in hnswlib before this fix). Every
// command runs as a real `kb` process; none may crash, each says what it found.

let env: IngestEnv;
let v1: number;
let v2: number;

function kb(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), ...args], {
    env: {
      ...process.env,
      KB_DATA_DIR: env.dir,
      KB_SOURCES: JSON.stringify(env.config.sources),
      KB_EMBEDDING__MODEL: 'tiny/e5',
      KB_EMBEDDING__ALLOW_REMOTE: 'false',
      KB_CLEANING__MIN_CHARS: '10',
      KB_CHUNKING: JSON.stringify(env.config.chunking),
      KB_LOG__LEVEL: 'warn',
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  env = await makeIngestEnv();
  env.writeSource(Array.from({ length: 30 }, (_, i) => article(i + 1)));
  await runIngestion(env.ctx);
  v1 = activeVersion(env.db)!.id;
  env.writeSource([...Array.from({ length: 30 }, (_, i) => article(i + 1)), ...Array.from({ length: 10 }, (_, i) => article(500 + i, 'robot'))]);
  await runIngestion(env.ctx);
  v2 = activeVersion(env.db)!.id;
  const file = path.join(env.dir, activeVersion(env.db)!.file);
  const b = fs.readFileSync(file);
  b.writeUInt32LE(0xfffffff0, 52);
  fs.writeFileSync(file, b);
});
afterAll(() => env?.close());

// Each test spawns one to three `kb` processes (a few seconds each on a loaded 2-core machine).
describe('kb commands on a corrupt active index file', { timeout: 180_000 }, () => {
  it('status reports the file as bad, what servers serve instead, and the recovery', () => {
    const r = kb(['status', '--json']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.index_health).toMatchObject({ state: 'fallback', serving: v1, active: { version: v2, ok: false } });
    expect(s.index_health.detail).toMatch(/entry point .* past the last element.*kb index rebuild/);
    const text = kb(['status']);
    expect(text.stdout).toMatch(/index file +BAD — active index version \d+ is unusable/);
  });

  it('search answers (from the older verified version and BM25) and says it is degraded', () => {
    const r = kb(['search', 'robot product Shanghai', '--json']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.hits.length).toBeGreaterThan(0);
    expect(j.degraded.join('\n')).toMatch(new RegExp(`active vector index version ${v2} failed verification.*serving version ${v1}`));
    expect(j.degraded.join('\n')).not.toContain(env.dir); // no server paths in what API callers see
  });

  it('index verify exits 1 naming the bad file; rebuild repairs it; verify then passes', () => {
    const bad = kb(['index', 'verify']);
    expect(bad.signal, bad.stderr).toBeNull();
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`v${v2} \\(active\\) .*BAD: .*entry point`));
    expect(bad.stdout).toMatch(new RegExp(`v${v1} .*checksum \\+ structure OK`));

    const rebuilt = kb(['index', 'rebuild', '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ rebuilt: true, rebuild_reason: 'forced', discarded: [{ version: v2 }] });
    expect(fs.existsSync(path.join(env.dir, `index/${path.basename(JSON.parse(rebuilt.stdout).discarded[0].file)}.corrupt`))).toBe(true);

    const good = kb(['index', 'verify', '--json']);
    expect(good.code, good.stdout).toBe(0);
    const j = JSON.parse(good.stdout);
    expect(j).toMatchObject({ state: 'ok', labels: { ok: true } });
    expect(j.versions.find((v: { version: number }) => v.version === v2)).toBeUndefined(); // dropped by the rebuild
    env.reopen();
    expectConsistent(env);
  });

  it('ingest --full on a corrupt active file rebuilds instead of crashing', () => {
    const file = path.join(env.dir, activeVersion(env.db)!.file);
    const b = fs.readFileSync(file);
    b.fill(0x5a, 200, Math.min(b.length, 200 + 4096));
    fs.writeFileSync(file, b);
    const r = kb(['ingest', '--full', '--json']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).index).toMatchObject({ rebuilt: true });
    env.reopen();
    expectConsistent(env);
  });
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';

// The `kb` CLI as an operator runs it, on the embedded defaults (demo world, no model download).

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-cli-'));
const env = { ...process.env, KB_DATA_DIR: dataDir, KB_EMBEDDING__ALLOW_REMOTE: 'false', KB_LOG__LEVEL: 'warn' };

function kb(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), ...args], {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let ingest: ReturnType<typeof kb>;
beforeAll(() => {
  ingest = kb(['ingest', '--json']);
});

describe('kb CLI', () => {
  it('ingest on an empty data folder generates the demo world and prints the documented report', () => {
    expect(ingest.code, ingest.stderr).toBe(0);
    const r = JSON.parse(ingest.stdout);
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['run_id', 'status', 'docs', 'chunks', 'seconds']));
    expect(Object.keys(r.docs).sort()).toEqual(['changed', 'deleted', 'duplicates', 'new', 'quarantined', 'seen', 'unchanged']);
    expect(Object.keys(r.chunks).sort()).toEqual(['added', 'removed']);
    expect(r.seconds.total).toBeGreaterThan(0);
    expect(r.status).toBe('succeeded');
    expect(r.docs.new).toBeGreaterThan(300);
    expect(r.docs.duplicates).toBeGreaterThan(0); // the demo world carries syndicated copies
    expect(r.embedding.unavailable).toMatch(/multilingual-e5-small.*allow_remote/s);
    expect(fs.existsSync(path.join(dataDir, 'demo', 'sources.json'))).toBe(true);
  });

  it('status --json reports documents, chunks, pending embeddings, index and last run', () => {
    const s = kb(['status', '--json']);
    expect(s.code).toBe(0);
    const j = JSON.parse(s.stdout);
    expect(Object.keys(j).sort()).toEqual(['chunks', 'documents', 'index', 'index_health', 'last_run', 'pending_embeddings']);
    expect(j.index_health).toMatchObject({ state: 'no_index', serving: null });
    expect(j.pending_embeddings).toBe(j.chunks); // no model here: everything waits for the dense leg
    expect(j.index).toBeNull();
    expect(j.last_run).toMatchObject({ id: 1, status: 'succeeded' });
  });

  it('bm25 status/build: the run built a version; build is a no-op until forced', () => {
    const st = JSON.parse(kb(['bm25', 'status', '--json']).stdout);
    expect(st.version).toMatchObject({ id: 1, active: 1 });
    expect(st.pending).toEqual({ added: 0, removed: 0 });
    expect(JSON.parse(ingest.stdout).bm25).toMatchObject({ version: 1, built: true });
    const same = kb(['bm25', 'build', '--json']);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ built: false, version_id: 1 });
    const forced = kb(['bm25', 'build', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^BM25 version v2: \d+ chunks, \d+ terms, .* \(forced\)/);
    expect(fs.readdirSync(path.join(dataDir, 'bm25')).sort()).toEqual(['v1.bm25', 'v2.bm25']);

    // Changing retrieval.bm25.k1 makes the active version stale: status says so, build rebuilds.
    const k1 = { KB_RETRIEVAL__BM25__K1: '1.5' };
    const stale = kb(['bm25', 'status'], k1);
    expect(stale.stdout).toMatch(/k1 1.2, b 0.75/);
    expect(stale.stdout).toMatch(/params differ: BM25 version 2 was built with k1 1.2, b 0.75; the configuration says k1 1.5, b 0.75 .*kb bm25 build/);
    expect(JSON.parse(kb(['bm25', 'status', '--json'], k1).stdout)).toMatchObject({ params: { k1: 1.2, b: 0.75 }, configured_params: { k1: 1.5, b: 0.75 } });
    const rebuilt = kb(['bm25', 'build', '--json'], k1);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ built: true, reason: 'params_changed', version_id: 3 });
    expect(JSON.parse(kb(['bm25', 'status', '--json'], k1).stdout)).toMatchObject({ params: { k1: 1.5, b: 0.75 }, params_stale: null });
    // Back to the defaults (the later tests search with them): rebuilt again.
    expect(JSON.parse(kb(['bm25', 'build', '--json']).stdout)).toMatchObject({ built: true, reason: 'params_changed', version_id: 4 });
  });

  it('quarantine list shows rejected records with reasons', () => {
    const q = kb(['quarantine', 'list', '--json', '--limit', '100']);
    const rows = q.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const reasons = new Set(rows.map((r) => r.reason));
    for (const reason of ['invalid_json', 'invalid_csv_row', 'exact_duplicate', 'near_duplicate', 'unsupported_file']) expect(reasons).toContain(reason);
    expect(rows.every((r) => r.raw.length > 0)).toBe(true);
  });

  it('search returns hybrid hits with a per-leg breakdown and says the dense leg is degraded', () => {
    const s = kb(['search', '华科智能 协作机器人', '--json', '-k', '3']);
    expect(s.code, s.stderr).toBe(0);
    const j = JSON.parse(s.stdout);
    expect(j.hits).toHaveLength(3);
    expect(j.hits[0].score).toMatchObject({ dense: null, bm25: { rank: expect.any(Number), score: expect.any(Number) } });
    expect(j.hits[0].text + j.hits[0].title).toMatch(/华科/);
    // The /v1/retrieve hit shape, snake_case (not the internal chunkId / rrfRank names).
    expect(j.hits[0]).toMatchObject({ chunk_id: expect.any(Number), external_id: expect.any(String), score: { rrf_rank: expect.any(Number), moves: expect.any(Array) } });
    expect(j.hits[0]).not.toHaveProperty('chunkId');
    expect(j.ranking).toMatchObject({ recency: expect.any(String), rerank: 'off' });
    expect(j.degraded.join()).toMatch(/dense/);
  });

  it('a bad configuration value stops with the key named, exit code 2', () => {
    const r = kb(['status'], { KB_CHUNKING__OVERLAP_TOKENS: '-3' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/chunking\.overlap_tokens/);
  });

  it('an unknown source is a clear error', () => {
    const r = kb(['ingest', '--source', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown source\(s\): nope/);
  });

  it('demo generate writes both halves of the demo world', () => {
    const out = path.join(dataDir, 'gen');
    const r = kb(['demo', 'generate', '--docs', '30', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['news.jsonl', 'comments.csv', 'posts', 'sources.json', 'core']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'core')).length).toBeGreaterThanOrEqual(6);
  });

  it('a bad flag value is reported against the flag, not an internal field', () => {
    const r = kb(['search', 'drones', '-k', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/-k, --top-k <n>.*'0' is invalid.*from 1 to 1000/s);
    expect(r.stderr).not.toMatch(/topK/);
  });
});

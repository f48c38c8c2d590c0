import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { buildTinyModel } from '../fixtures/tiny-model/build.ts';
import { article, type NewsRecord } from '../helpers/ingest-env.ts';

// Issue 14's acceptance test, with real processes: one ingestion side and three API replicas on
// three separate data folders. Two new versions are published while looping clients hit every
// replica; every request must succeed, every replica must end on the newest snapshot, and all
// three must give identical answers.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-replicas-'));
const pubDir = path.join(root, 'ingest');
const snapDir = path.join(root, 'snapshots');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

const baseEnv = (dataDir: string): NodeJS.ProcessEnv => ({
  ...process.env,
  KB_DATA_DIR: dataDir,
  KB_SOURCES: JSON.stringify([{ name: 'news', type: 'jsonl', path: 'news.jsonl', mode: 'full', kind: 'news', mapping: { published_at: 'date' } }]),
  KB_EMBEDDING__PROVIDER: 'local',
  KB_EMBEDDING__MODEL: 'tiny/e5',
  KB_EMBEDDING__ALLOW_REMOTE: 'false',
  KB_CHUNKING__TARGET_TOKENS: '60',
  KB_CHUNKING__MAX_TOKENS: '100',
  KB_CHUNKING__OVERLAP_TOKENS: '10',
  KB_CLEANING__MIN_CHARS: '10',
  KB_SNAPSHOT__TARGET: snapDir,
  KB_SNAPSHOT__POLL_INTERVAL_MS: '150',
  KB_SNAPSHOT__KEEP: '2',
  KB_AUTH__RATE_LIMIT__REQUESTS_PER_MINUTE: '1000000',
  KB_AUTH__RATE_LIMIT__BURST: '100000',
  KB_LOG__LEVEL: 'info',
});

function writeSource(records: NewsRecord[]) {
  fs.writeFileSync(path.join(pubDir, 'news.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** `kb ingest` as its own process; resolves with the snapshot it published. */
async function ingest(): Promise<string> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'ingest', '--json'], { env: baseEnv(pubDir), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`kb ingest exited ${code}:\n${err.slice(-3000)}`);
  const report = JSON.parse(out) as { status: string; snapshot?: { id?: string; error?: string } };
  expect(report.status).toBe('succeeded');
  expect(report.snapshot?.error).toBeUndefined();
  return report.snapshot!.id!;
}

interface Replica {
  url: string;
  dir: string;
  child: ChildProcess;
  stderr: () => string;
}

/** Spawns `kb serve --snapshot-from` on its own data folder; `listening` resolves with its URL. */
function spawnReplica(n: number): Replica & { listening: Promise<string> } {
  const dir = path.join(root, `replica-${n}`);
  fs.cpSync(path.join(pubDir, 'models'), path.join(dir, 'models'), { recursive: true });
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'serve', '--snapshot-from', snapDir, '--port', '0'], {
    env: baseEnv(dir),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const replica = { url: '', dir, child, stderr: () => stderr, listening: Promise.resolve('') };
  replica.listening = (async () => {
    const end = Date.now() + 120_000;
    for (;;) {
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"server listening"/.exec(stderr);
      if (m) return (replica.url = m[1]);
      if (child.exitCode !== null || Date.now() > end) throw new Error(`replica ${n} did not start:\n${stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return replica;
}

const readyz = async (r: Replica) => (await (await fetch(`${r.url}/readyz`)).json()) as { status: string; checks: { index: { snapshot: { snapshot: { id: string } | null } } } };
const servedSnapshot = async (r: Replica) => (await readyz(r)).checks.index.snapshot.snapshot?.id ?? null;

async function converge(replicas: Replica[], id: string) {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const ids = await Promise.all(replicas.map(servedSnapshot));
    if (ids.every((x) => x === id)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`replicas did not converge on ${id}`);
}

const question = 'Which company opened a Zephyrium alloy plant?';
const ask = (url: string, kind: 'retrieve' | 'chat') =>
  kind === 'retrieve'
    ? fetch(`${url}/v1/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: question, top_k: 5 }) })
    : fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'kb-assistant', messages: [{ role: 'user', content: question }] }) });

describe('three API replicas on separate data folders fed by snapshots', () => {
  it('publishes two versions under load: zero failed requests, every replica on the newest snapshot, identical answers', async () => {
    await buildTinyModel(path.join(pubDir, 'models', 'tiny', 'e5'), { fullCjk: true });
    const week1 = Array.from({ length: 12 }, (_, i) => article(i + 1));
    writeSource(week1);

    // The replicas start empty: they wait for the first snapshot, then listen and serve it.
    const replicas = [1, 2, 3].map(spawnReplica);
    for (const r of replicas) {
      for (let i = 0; !/waiting for the first snapshot/.test(r.stderr()); i++) {
        if (i > 900 || r.child.exitCode !== null) throw new Error(`replica did not wait for a snapshot:\n${r.stderr().slice(-3000)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    expect(/server listening/.test(replicas.map((r) => r.stderr()).join())).toBe(false);
    const v1 = await ingest();
    await Promise.all(replicas.map((r) => r.listening));
    await converge(replicas, v1);
    for (const r of replicas) expect((await readyz(r)).status).toBe('ready');

    // Load: two looping clients per replica (retrieval and chat), recording every failure.
    let stop = false;
    const failures: string[] = [];
    let requests = 0;
    const loop = async (r: Replica, kind: 'retrieve' | 'chat') => {
      while (!stop) {
        try {
          const res = await ask(r.url, kind);
          const body = await res.text();
          requests++;
          if (res.status !== 200) failures.push(`${r.url} ${kind} ${res.status} ${body.slice(0, 200)}`);
        } catch (err) {
          failures.push(`${r.url} ${kind} ${(err as Error).message}`);
        }
        // A short think time: steady traffic through every swap without starving the other test
        // files that share the machine's cores.
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    const clients = replicas.flatMap((r) => [loop(r, 'retrieve'), loop(r, 'chat')]);

    // Version 2: a new document; version 3: another one and a deletion.
    const zeph: NewsRecord = { id: 'z-1', title: 'Zephyrium alloy plant opens', body: 'Company 77 opened a Zephyrium alloy plant in Suzhou this week, making light bicycle frames.', date: '2026-05-04' };
    writeSource([...week1, zeph]);
    const v2 = await ingest();
    await converge(replicas, v2);
    const zeph2: NewsRecord = { id: 'z-2', title: 'Second Zephyrium alloy line', body: 'Company 78 added a second Zephyrium alloy line for scooter frames in Ningbo.', date: '2026-06-01' };
    writeSource([...week1.slice(1), zeph, zeph2]);
    const v3 = await ingest();
    await converge(replicas, v3);
    await new Promise((r) => setTimeout(r, 300)); // some load on v3 too
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(30);

    // Identical answers from every replica, from the newest version.
    const retrievals = await Promise.all(replicas.map(async (r) => (await (await ask(r.url, 'retrieve')).json()) as { data: Array<{ chunk_id: number; title: string; score: unknown }> }));
    const titles = retrievals[0].data.map((h) => h.title);
    expect(titles).toContain('Second Zephyrium alloy line');
    expect(titles).not.toContain(week1[0].title); // deleted in v3
    // The recency factor (and so the fused score) moves with the wall clock between two calls;
    // everything else — order, chunks, texts, per-leg ranks and scores, RRF — must be identical.
    const stable = (x: (typeof retrievals)[number]) =>
      x.data.map((h) => {
        const { recency: _r, fused: _f, ...score } = h.score as Record<string, unknown>;
        return { ...h, score };
      });
    for (const x of retrievals.slice(1)) expect(stable(x)).toEqual(stable(retrievals[0]));
    const chats = await Promise.all(
      replicas.map(async (r) => {
        const j = (await (await ask(r.url, 'chat')).json()) as { choices: Array<{ message: { content: string } }>; citations: unknown };
        return { content: j.choices[0].message.content, citations: j.citations };
      }),
    );
    expect(chats[0].content).toMatch(/Zephyrium/);
    for (const c of chats.slice(1)) expect(c).toEqual(chats[0]);

    // Prometheus sees which snapshot each replica serves and how many swaps it made.
    for (const r of replicas) {
      const metrics = await (await fetch(`${r.url}/metrics`)).text();
      expect(metrics).toContain(`kb_snapshot_info{snapshot="${v3}"} 1`);
      expect(metrics).toMatch(/^kb_snapshot_swaps_total 3$/m);
      expect(metrics).toMatch(/^kb_snapshot_update_failures_total 0$/m);
    }

    // Retention at the source (keep 2) and old local copies gone on every replica.
    expect(fs.readdirSync(snapDir).filter((n) => /^\d{8}T/.test(n)).sort()).toEqual([v2, v3]);
    for (const r of replicas) expect(fs.readdirSync(path.join(r.dir, 'replica')).filter((n) => /^\d{8}T/.test(n))).toEqual([v3]);

    // Graceful shutdown.
    for (const r of replicas) r.child.kill('SIGTERM');
    const codes = await Promise.all(replicas.map((r) => (r.child.exitCode !== null ? r.child.exitCode : new Promise<number | null>((res) => r.child.on('exit', (c) => res(c))))));
    expect(codes).toEqual([0, 0, 0]);
  }, 240_000);
});

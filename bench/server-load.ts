// Chat API under load: /v1/retrieve throughput and latency, and the latency our server adds to
// /v1/chat/completions over an upstream model with a fixed delay — measured side by side with
// baselines in the same run, for retrieval in the server's own thread (in-process) and in the
// worker-thread pool (server.retrieval_workers), on the same corpus and the same request mix.
//
//   node --import tsx bench/server-load.ts [--chunks 100000[,1000000]] [--embedder e5-shaped|tiny]
//        [--workers 0,auto] [--duration 10] [--connections 1,8,32] [--chat-connections 32]
//        [--delay 200] [--embed-delay 10] [--chat-embedders local,openai] [--skip-chat]
//        [--seed 42] [--out bench/out] [--query-cache 0] [--store DIR]
//
// Setup (cached under <out>/server-load-<chunks>-<embedder>/, reused by later runs):
//   a store with N chunks of demo text (zh + en; kinds, dates, tags, 15% ACL-restricted docs),
//   BM25 terms through the real analyzer, SYNTHETIC clustered 384-d vectors in embedding_cache
//   and an HNSW version built by the real syncDenseIndex (bench/fixtures/server-corpus.ts).
// Query embedder (the dense leg really runs): --embedder e5-shaped = a compute-shaped stand-in for
//   multilingual-e5-small with random weights, q8 (bench/fixtures/e5-small-shaped.ts) — the query
//   embedding cost a real deployment pays; tiny = the test fixture model (one lookup, ~free).
//   Query vectors thus come from that model, index vectors from the synthetic generator.
//   --chat-embedders openai adds runs with the query embedding from an OpenAI-compatible
//   embeddings server: bench/fixtures/embeddings-server.ts in its own process, a fixed
//   --embed-delay ms per request (a GPU embeddings server's cost), the index aliased to its id
//   (bench/fixtures/index-alias.ts).
// --store DIR: instead of the generated corpus, an existing data folder (DIR/kb.sqlite, its bm25/
//   engine version and DIR/queries.json, e.g. bench/bm25.ts's --replicate 30 store of 3M chunks).
//   Without a dense index version there only the BM25 scenario runs (no hybrid, no chat): what it
//   measures is the server's peak RSS and BM25 throughput at that size.
// Query-vector cache (retrieval.query_cache_size, per worker): 0 by default here, so every
//   request pays its query embedding — the mix has ≤ 2,000 distinct questions, and a cache would
//   turn repeats into free requests the capacity figure should not count on.
// Retrieval placement: --workers lists server.retrieval_workers settings to compare (0 =
//   in-process, auto = one worker per core, or a number); every scenario runs for each.
// Load: autocannon's programmatic API in a CHILD process (bench/fixtures/server-loadgen.ts),
//   loopback, closed loop, `--duration` s per scenario; the server runs in this process (its
//   worker threads too), whose RSS is sampled every 200 ms (peak per placement).
// Scenarios and their baselines:
//   retrieve hybrid with an API key carrying ACL groups (every request is filtered: the
//     production path) vs hybrid without auth (unrestricted fast path) vs bm25-only with the key;
//   chat non-stream: autocannon straight at the fixed-delay upstream (baseline) vs through our
//     /v1/chat/completions (auth + retrieval + prompt packing + proxy) → added p50/p99;
//   chat stream: time to first content token, direct vs through us.
//   --chat-connections 8,16,24,32 runs the chat scenarios (and their baselines) at each count: N
//     closed-loop clients over a D ms upstream offer N·1000/D chats/s, so the list finds where
//     the cores stop keeping up (the summary prints offered vs carried chats/s and CPU per chat).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance as nodePerformance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createKey } from '../src/auth/keys.ts';
import { createEmbedder } from '../src/embeddings/factory.ts';
import { loadConfig, type Config } from '../src/config/index.ts';
import { createLogger } from '../src/log/index.ts';
import { openStore, type DB } from '../src/store/index.ts';
import { startServer, type RunningServer } from '../serve/main.ts';
import { buildTinyModel } from '../test/fixtures/tiny-model/build.ts';
import { buildE5ShapedModel } from './fixtures/e5-small-shaped.ts';
import { buildServerCorpus, type ServerCorpusStats } from './fixtures/server-corpus.ts';
import { summarize, type LoadResult, type LoadSpec } from './fixtures/server-loadgen.ts';
import { parseFlags } from './fixtures/flags.ts';
import { aliasActiveIndex, dropIndexAliases } from './fixtures/index-alias.ts';
import { resolveWorkerCount } from '../src/retrieval/pool/size.ts';
import { syncBm25Index } from '../src/bm25/versions.ts';
import { activeVersion } from '../src/vector/versions.ts';

const flags = parseFlags;

const f = flags(process.argv.slice(2));
const known = new Set(['chunks', 'embedder', 'duration', 'connections', 'chat-connections', 'delay', 'skip-chat', 'seed', 'out', 'probe', 'workers', 'embed-delay', 'chat-embedders', 'query-cache', 'store']);
for (const k of f.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k} (known: ${[...known].join(', ')})`);
const list = (k: string, d: string) =>
  (f.get(k) ?? d).split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${k}: "${x}" is not a positive integer`);
    return n;
  });
// --store: the size is the store's (read once here; every row is labelled with it).
const storeChunks = (dir: string): number => {
  const db = openStore(path.join(dir, 'kb.sqlite'));
  try {
    return db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NULL').pluck().get() as number;
  } finally {
    db.close();
  }
};
const STORE = f.has('store') ? path.resolve(f.get('store')!) : null;
const CHUNKS = STORE ? [storeChunks(STORE)] : list('chunks', '100000');
const CONNECTIONS = list('connections', '1,8,32');
const CHAT_CONNECTIONS = list('chat-connections', '32');
const [DURATION] = list('duration', '10');
const [DELAY] = list('delay', '200');
const [SEED] = list('seed', '42');
const [PROBE] = list('probe', '200');
const EMBEDDER = f.get('embedder') ?? 'e5-shaped';
if (EMBEDDER !== 'e5-shaped' && EMBEDDER !== 'tiny') throw new Error('--embedder must be e5-shaped or tiny');
const SKIP_CHAT = f.get('skip-chat') === 'true';
const [EMBED_DELAY] = list('embed-delay', '10');
const QUERY_CACHE = f.has('query-cache') ? Number(f.get('query-cache')) : 0;
if (!Number.isInteger(QUERY_CACHE) || QUERY_CACHE < 0) throw new Error('--query-cache must be a non-negative integer');
// server.retrieval_workers settings to compare, in this order.
const WORKERS: Array<'auto' | number> = (f.get('workers') ?? '0,auto').split(',').map((x) => {
  if (x === 'auto') return 'auto';
  const n = Number(x);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--workers: "${x}" is not auto or a non-negative integer`);
  return n;
});
const CHAT_EMBEDDERS = (f.get('chat-embedders') ?? 'local,openai').split(',');
for (const e of CHAT_EMBEDDERS) if (e !== 'local' && e !== 'openai') throw new Error(`--chat-embedders: "${e}" is not local or openai`);
const placement = (w: 'auto' | number) => (w === 0 ? 'in-process' : `workers=${w === 'auto' ? `auto(${resolveWorkerCount('auto')})` : w}`);
const OUT = path.resolve(f.get('out') ?? 'bench/out');
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const load1 = () => os.loadavg()[0].toFixed(2);
const MODEL_NAME = EMBEDDER === 'e5-shaped' ? 'bench/e5-small-shaped' : 'bench/tiny-384';
const DTYPE = 'q8' as const;
const DIM = 384;
const ACL_GROUPS = ['sales'];

// ---------- store (cached) ----------
interface Prepared {
  dir: string;
  dataDir: string;
  storeFile: string;
  stats: ServerCorpusStats;
}

async function prepareStore(chunks: number, config: Config, modelId: string): Promise<Prepared> {
  if (STORE) return existingStore(STORE, chunks);
  const dir = path.join(OUT, `server-load-${chunks}-${EMBEDDER}`);
  const dataDir = path.join(dir, 'data');
  const storeFile = path.join(dataDir, 'kb.sqlite');
  const marker = path.join(dir, 'built.json');
  if (fs.existsSync(marker)) {
    log(`reusing ${dir}`);
    ensureBm25Version(storeFile, dataDir);
    return { dir, dataDir, storeFile, stats: JSON.parse(fs.readFileSync(marker, 'utf8')) };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  log(`building ${chunks} chunks into ${dir} (cached for later runs)`);
  const stats = await buildServerCorpus({ chunks, storeFile, dataDir, modelId, dim: DIM, params: config.index, seed: SEED, log });
  // The tokenizer gets the corpus's English words whole (as e5's SentencePiece would), so a
  // query's token count — and so its embedding cost — is realistic.
  const db = openStore(storeFile);
  const counts = new Map<string, number>();
  for (const t of db.prepare('SELECT text FROM chunks WHERE id % 10 = 0 LIMIT 20000').pluck().iterate() as Iterable<string>) {
    for (const m of t.toLowerCase().matchAll(/[a-z]{2,}/g)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  db.close();
  const words = [...counts].filter(([, n]) => n >= 3).map(([w]) => w);
  const modelDir = path.join(dataDir, 'models', MODEL_NAME);
  if (EMBEDDER === 'e5-shaped') await buildE5ShapedModel(modelDir, { extraWords: words });
  else await buildTinyModel(modelDir, { dim: DIM, fullCjk: true, extraWords: words });
  ensureBm25Version(storeFile, dataDir);
  fs.writeFileSync(marker, JSON.stringify(stats));
  log(`built: text ${stats.text_seconds.toFixed(1)} s, HNSW ${stats.index_seconds.toFixed(1)} s (${Math.round(stats.vectors / stats.index_seconds)} vec/s)`);
  return { dir, dataDir, storeFile, stats };
}

/** --store: an existing data folder (of `chunks` live chunks, counted at start), its question mix read from it. */
function existingStore(dir: string, chunks: number): Prepared {
  const storeFile = path.join(dir, 'kb.sqlite');
  const db = openStore(storeFile);
  try {
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const kinds = Object.fromEntries(db.prepare('SELECT kind, count(*) FROM documents WHERE deleted_at IS NULL GROUP BY kind').raw().all() as [string, number][]);
    const stats: ServerCorpusStats = {
      documents: count('SELECT count(*) FROM documents WHERE deleted_at IS NULL'),
      chunks,
      kinds,
      acl_restricted_docs: count("SELECT count(*) FROM documents WHERE deleted_at IS NULL AND acl_groups != '[]'"),
      text_seconds: NaN,
      index_seconds: NaN,
      vectors: count('SELECT count(*) FROM chunks WHERE vector_label IS NOT NULL'),
      queries: JSON.parse(fs.readFileSync(path.join(dir, 'queries.json'), 'utf8')) as string[],
    };
    log(`using the existing store ${dir}: ${stats.chunks} chunks, ${stats.vectors} with vectors`);
    ensureBm25Version(storeFile, dir);
    return { dir, dataDir: dir, storeFile, stats };
  } finally {
    db.close();
  }
}

/**
 * The BM25 engine file, as the ingest job builds it at the end of a run (without it the server
 * answers BM25 from FTS5, the slow exhaustive fallback). Built once per cached store.
 */
function ensureBm25Version(storeFile: string, dataDir: string): void {
  const db = openStore(storeFile);
  try {
    // A no-op when the active version is current and its file is there; else (none yet, or its
    // file gone) it builds one.
    const r = syncBm25Index(db, dataDir, { keep: 1 });
    if (r.built) log(`BM25 engine version ${r.version_id} (${r.reason}): ${r.docs} chunks, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${r.seconds.toFixed(1)} s`);
  } finally {
    db.close();
  }
}

function benchConfig(dataDir: string, upstreamUrl: string, workers: 'auto' | number = 0, embeddingsUrl: string | null = null): Config {
  return loadConfig({
    env: {},
    overrides: {
      data_dir: dataDir,
      log: { level: 'warn' },
      server: { retrieval_workers: workers },
      retrieval: { query_cache_size: QUERY_CACHE },
      embedding: embeddingsUrl
        ? { provider: 'openai', model: 'bench-embed', openai: { base_url: embeddingsUrl, api_key: '', dimensions: 0, timeout_ms: 30_000 } }
        : { provider: 'local', model: MODEL_NAME, allow_remote: false, dtype: DTYPE },
      // One load generator stands for many users: the per-key limit would only measure 429s.
      auth: { rate_limit: { requests_per_minute: 1e9, burst: 1e9 } },
      upstreams: { bench: { base_url: upstreamUrl, timeout_ms: 30_000, max_retries: 0 } },
      assistants: { 'kb-assistant': { upstream: 'bench', model: 'bench-model', adapter: '' } },
      chat: { on_upstream_error: 'error' },
    },
  });
}

// ---------- child processes ----------
const TSX = ['--import', 'tsx'];

async function startUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/fixtures/server-upstream.ts'), '--delay', String(DELAY), '--chunk-delay', '10', '--chunks', '20'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  return { url: (JSON.parse(line) as { url: string }).url, child };
}

async function startEmbeddingsServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/fixtures/embeddings-server.ts'), '--delay', String(EMBED_DELAY), '--dim', String(DIM)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`embeddings server exited with ${code}`)));
  });
  return { url: (JSON.parse(line) as { url: string }).url, child };
}

/** Peak RSS of this process (the server, its worker threads) while `fn` runs, sampled every 200 ms. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 200);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakMiB: Math.round(peak / 2 ** 20) };
  } finally {
    clearInterval(timer);
  }
}

/**
 * A load run plus what it cost THIS process (the server and its worker threads; the load
 * generator and upstreams are other processes): CPU time (user + system, all threads) and the
 * server thread's event-loop busy time. Per request, these do not depend on how many other
 * processes share the cores, unlike req/s on a loaded machine.
 */
async function runLoad(spec: LoadSpec): Promise<LoadResult & { cpuMs: number; mainBusyMs: number }> {
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const r = await runLoadOnly(spec);
  const cpu = process.cpuUsage(cpu0);
  return { ...r, cpuMs: (cpu.user + cpu.system) / 1000, mainBusyMs: mainThreadCpuMs() - main0 };
}

/**
 * CPU time of the server's own thread (Linux: /proc/self/task/<pid>/stat utime + stime, in clock
 * ticks of 10 ms). Event-loop utilisation would count time the thread waited for a core on a
 * loaded machine; this counts only time it ran. Elsewhere: event-loop busy time (an upper bound).
 */
function mainThreadCpuMs(): number {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15; USER_HZ 100)
  } catch {
    return nodePerformance.eventLoopUtilization().active;
  }
}

async function runLoadOnly(spec: LoadSpec): Promise<LoadResult> {
  const file = path.join(os.tmpdir(), `kb-server-load-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(spec));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'bench/fixtures/server-loadgen.ts'), file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      child.stdout!.on('data', (d) => (s += d));
      child.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`load generator exited with ${code}`))));
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
    if (r.non2xx || r.errors) log(`  WARNING: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return r;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

// ---------- request mix ----------
const FILTERS = [{ kinds: ['news'] }, { from: '2025-06-01' }, { kinds: ['comment'], from: '2024-01-01' }, { kinds: ['news', 'post'], to: '2025-12-31' }];

function retrieveBodies(queries: string[], mode: 'hybrid' | 'bm25'): string[] {
  // Every 5th request carries a metadata filter.
  return queries.map((q, i) => JSON.stringify({ query: q, top_k: 8, mode, ...(i % 5 === 4 ? { filters: FILTERS[Math.floor(i / 5) % FILTERS.length] } : {}) }));
}

const chatBodies = (queries: string[], model: string, stream: boolean) =>
  queries.map((q) => JSON.stringify({ model, messages: [{ role: 'user', content: q }], max_tokens: 256, ...(stream ? { stream: true } : {}) }));

/** Sequential requests reading the server's own per-stage timings (and checking both legs ran). */
async function probe(server: RunningServer, headers: Record<string, string>, bodies: string[], n: number) {
  const stages = new Map<string, number[]>();
  const degraded = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${server.url}/v1/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: bodies[(i * 7) % bodies.length] });
    const j = (await res.json()) as { timings?: Record<string, number>; degraded?: string[]; error?: { message: string } };
    if (!res.ok) throw new Error(`probe: HTTP ${res.status}: ${j.error?.message}`);
    for (const [k, v] of Object.entries(j.timings ?? {})) (stages.get(k) ?? stages.set(k, []).get(k)!).push(v);
    for (const d of j.degraded ?? []) degraded.set(d, (degraded.get(d) ?? 0) + 1);
  }
  return { stages: Object.fromEntries([...stages].map(([k, v]) => [k, { ...summarize(v), n: v.length }])), degraded: Object.fromEntries(degraded) };
}

/** A hybrid figure is only meaningful when the dense leg really ran. */
function requireDense<T extends { degraded: Record<string, number> }>(p: T): T {
  const reasons = Object.keys(p.degraded);
  if (reasons.length) throw new Error(`the hybrid probe ran degraded, figures would be BM25-only: ${reasons.join('; ')}`);
  return p;
}

// ---------- run ----------
interface Row {
  chunks: number;
  placement: string;
  scenario: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  ttft_p50?: number;
  ttft_p99?: number;
  requests: number;
  errors: number;
  /** CPU time of the server process (all threads) per request. */
  cpu_ms_per_req: number;
  /** Busy time of the server's own thread (event loop) per request. */
  main_ms_per_req: number;
}

const rows: Row[] = [];
const probes: Record<string, unknown> = {};
const chatSummary: Record<string, unknown>[] = [];
const memory: Record<string, unknown>[] = [];

function record(chunks: number, where: string, scenario: string, connections: number, r: LoadResult & { cpuMs: number; mainBusyMs: number }): void {
  const per = (x: number) => (r.requests > 0 ? Math.round((x / r.requests) * 10) / 10 : NaN);
  const row: Row = { chunks, placement: where, scenario, connections, rps: r.rps, p50: r.latency.p50, p99: r.latency.p99, ttft_p50: r.ttft?.p50, ttft_p99: r.ttft?.p99, requests: r.requests, errors: r.errors + r.non2xx, cpu_ms_per_req: per(r.cpuMs), main_ms_per_req: per(r.mainBusyMs) };
  rows.push(row);
  const t = r.ttft ? `  ttft p50 ${r.ttft.p50} p99 ${r.ttft.p99}` : '';
  log(`  [${where}] ${scenario} c=${connections}: ${r.rps} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms${t}  CPU ${row.cpu_ms_per_req} ms/req (server thread ${row.main_ms_per_req})  (n=${r.requests}, load1 ${load1()})`);
}

/**
 * Throughput this placement could reach on `cores` otherwise idle cores, from its measured cost:
 * all threads together cannot exceed cores × 1000 ms of CPU per second, and the server thread
 * alone cannot exceed 1000 ms per second (what caps retrieval on the server thread).
 */
const ceiling = (r: Row, cores = os.availableParallelism()) => Math.round(Math.min((cores * 1000) / r.cpu_ms_per_req, 1000 / r.main_ms_per_req));

const round1 = (x: number) => Math.round(x * 10) / 10;

// The index's model id must equal the query embedder's id (model, dtype and a tag of its
// passage settings) or the dense leg is skipped as a model mismatch.
const MODEL_ID = createEmbedder(benchConfig(path.join(OUT, 'unused'), 'http://127.0.0.1:9/v1')).id;
const started = Date.now();
log(
  `server-load: chunks=${CHUNKS.join(',')} embedder=${EMBEDDER} (${MODEL_ID}) placements=${WORKERS.map(placement).join(',')} duration=${DURATION}s connections=${CONNECTIONS.join(',')} chat=${SKIP_CHAT ? 'skipped' : `${CHAT_CONNECTIONS}c, upstream delay ${DELAY} ms, query embedders ${CHAT_EMBEDDERS.join('+')} (stand-in ${EMBED_DELAY} ms)`} query_cache=${QUERY_CACHE} cpus=${os.cpus().length} load1=${load1()}`,
);
fs.mkdirSync(OUT, { recursive: true });
const upstream = await startUpstream();
log(`fixed-delay upstream at ${upstream.url}`);
const embeddings = !SKIP_CHAT && CHAT_EMBEDDERS.includes('openai') ? await startEmbeddingsServer() : null;
if (embeddings) log(`embeddings stand-in (${EMBED_DELAY} ms per request) at ${embeddings.url}`);
const servers: RunningServer[] = [];
const cleanup = async () => {
  for (const s of servers.splice(0)) await s.close().catch(() => undefined);
  upstream.child.kill('SIGTERM');
  embeddings?.child.kill('SIGTERM');
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

async function serve(config: Config, db: DB, what: string): Promise<RunningServer> {
  const t = performance.now();
  const server = await startServer(config, { db, log: createLogger('warn'), port: 0, host: '127.0.0.1' });
  servers.push(server);
  log(`server (${what}) up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return server;
}

async function stop(server: RunningServer): Promise<void> {
  await server.close();
  servers.splice(servers.indexOf(server), 1);
}

try {
  for (const chunks of CHUNKS) {
    const prepared = await prepareStore(chunks, benchConfig(path.join(OUT, 'unused'), upstream.url), MODEL_ID);
    const queries = prepared.stats.queries;
    log(`${prepared.stats.chunks} chunks: ${prepared.stats.documents} documents (${JSON.stringify(prepared.stats.kinds)}), ${queries.length} distinct questions in the mix`);
    const db: DB = openStore(prepared.storeFile);
    // A store without a dense index (--store) measures BM25 and memory only.
    const hasDense = activeVersion(db) !== null;
    const chatToo = hasDense && !SKIP_CHAT;
    if (!hasDense) log('no dense index version in this store: only the BM25 scenario runs (no hybrid, no chat)');
    db.prepare('DELETE FROM api_keys').run(); // keyless store at rest: a crashed earlier run may have left one
    dropIndexAliases(db, MODEL_ID); // … or an aliased index version
    const hybrid = retrieveBodies(queries, 'hybrid');
    const bm25 = retrieveBodies(queries, 'bm25');
    const upstreamBase = upstream.url.replace(/\/v1$/, '');
    try {
      // Baselines shared by every placement: the fixed-delay upstream without us.
      const directs = new Map<number, { direct: Awaited<ReturnType<typeof runLoad>>; sDirect: Awaited<ReturnType<typeof runLoad>> }>();
      if (chatToo) {
        for (const c of CHAT_CONNECTIONS) {
          const direct = await runLoad({ mode: 'autocannon', url: upstreamBase, path: '/v1/chat/completions', bodies: chatBodies(queries, 'bench-model', false), connections: c, durationS: DURATION, seed: 1 });
          record(chunks, '-', `chat direct to upstream (${DELAY} ms)`, c, direct);
          const sDirect = await runLoad({ mode: 'ttfb', url: upstreamBase, path: '/v1/chat/completions', bodies: chatBodies(queries, 'bench-model', true), connections: c, durationS: DURATION, seed: 2 });
          record(chunks, '-', 'chat stream direct', c, sDirect);
          directs.set(c, { direct, sDirect });
        }
      }

      for (const workers of WORKERS) {
        const where = placement(workers);
        const config = benchConfig(prepared.dataDir, upstream.url, workers);
        const rssBefore = Math.round(process.memoryUsage.rss() / 2 ** 20);
        const { peakMiB } = await withPeakRss(async () => {
          // 1. No auth → groups null → the unrestricted fast path (baseline for the ACL filter cost).
          let server: RunningServer;
          if (hasDense) {
            server = await serve(config, db, `${where}, auth off`);
            await probe(server, {}, hybrid, 20); // warm-up: embedder load, JIT (every worker)
            probes[`${chunks}/${where}/hybrid-open`] = requireDense(await probe(server, {}, hybrid, PROBE));
            for (const c of CONNECTIONS) record(chunks, where, 'retrieve hybrid, no auth', c, await runLoad({ mode: 'autocannon', url: server.url, path: '/v1/retrieve', bodies: hybrid, connections: c, durationS: DURATION, seed: c }));
            await stop(server);
          }

          // 2. API key with ACL groups → every request filtered (catalog mask + filtered HNSW walk).
          const { secret } = createKey(db, { name: 'bench', scopes: ['chat', 'retrieve'], groups: ACL_GROUPS });
          const auth = { authorization: `Bearer ${secret}` };
          try {
            // auth.mode is explicit (never inferred from the keys that exist): turn it on for this leg.
            server = await serve({ ...config, auth: { ...config.auth, mode: 'required' } }, db, `${where}, API key with groups ${ACL_GROUPS}`);
            if (hasDense) {
              await probe(server, auth, hybrid, 20);
              probes[`${chunks}/${where}/hybrid-acl`] = requireDense(await probe(server, auth, hybrid, PROBE));
            } else await probe(server, auth, bm25, 20);
            probes[`${chunks}/${where}/bm25-acl`] = await probe(server, auth, bm25, Math.min(PROBE, 100));
            if (hasDense) for (const c of CONNECTIONS) record(chunks, where, 'retrieve hybrid, key+ACL', c, await runLoad({ mode: 'autocannon', url: server.url, path: '/v1/retrieve', headers: auth, bodies: hybrid, connections: c, durationS: DURATION, seed: c }));
            for (const c of CONNECTIONS) record(chunks, where, 'retrieve bm25, key+ACL', c, await runLoad({ mode: 'autocannon', url: server.url, path: '/v1/retrieve', headers: auth, bodies: bm25, connections: c, durationS: DURATION, seed: c }));

            if (chatToo) {
              const chat = async (embedder: string) => {
                for (const c of CHAT_CONNECTIONS) {
                  const { direct, sDirect } = directs.get(c)!;
                  const ours = await runLoad({ mode: 'autocannon', url: server.url, path: '/v1/chat/completions', headers: auth, bodies: chatBodies(queries, 'kb-assistant', false), connections: c, durationS: DURATION, seed: 1 });
                  record(chunks, where, `chat through server (key+ACL, hybrid, ${embedder} query embedding)`, c, ours);
                  const sOurs = await runLoad({ mode: 'ttfb', url: server.url, path: '/v1/chat/completions', headers: auth, bodies: chatBodies(queries, 'kb-assistant', true), connections: c, durationS: DURATION, seed: 2 });
                  record(chunks, where, `chat stream through server (${embedder} query embedding)`, c, sOurs);
                  const added = {
                    chunks,
                    placement: where,
                    query_embedding: embedder,
                    connections: c,
                    upstream_delay_ms: DELAY,
                    added_p50_ms: round1(ours.latency.p50 - direct.latency.p50),
                    added_p99_ms: round1(ours.latency.p99 - direct.latency.p99),
                    ratio_p99: Math.round((ours.latency.p99 / direct.latency.p99) * 100) / 100,
                    stream_added_ttft_p50_ms: round1(sOurs.ttft!.p50 - sDirect.ttft!.p50),
                    stream_added_ttft_p99_ms: round1(sOurs.ttft!.p99 - sDirect.ttft!.p99),
                    // Offered load (clients / upstream delay) against what the server carried, and
                    // its CPU per chat (all threads): the budget a core count allows is 1000·cores / offered.
                    offered_chats_per_s: round1((c * 1000) / DELAY),
                    chats_per_s: ours.rps,
                    server_cpu_ms_per_chat: round1(ours.cpuMs / Math.max(1, ours.requests)),
                    errors: ours.errors + ours.non2xx + sOurs.errors + sOurs.non2xx,
                  };
                  chatSummary.push(added);
                  log(`  [${where}] ${c} clients: chat added latency (${embedder} embedding): p50 +${added.added_p50_ms} ms, p99 +${added.added_p99_ms} ms; stream TTFT p50 +${added.stream_added_ttft_p50_ms} ms, p99 +${added.stream_added_ttft_p99_ms} ms`);
                }
              };
              if (CHAT_EMBEDDERS.includes('local')) await chat('local');
              if (embeddings) {
                // The same server setup with the query embedding from the embeddings stand-in.
                await stop(server);
                const eConfig = benchConfig(prepared.dataDir, upstream.url, workers, embeddings.url);
                const restore = aliasActiveIndex(db, createEmbedder(eConfig).id);
                try {
                  server = await serve(eConfig, db, `${where}, key, query embedding from the embeddings server`);
                  await probe(server, auth, hybrid, 20);
                  probes[`${chunks}/${where}/hybrid-acl-embeddings-server`] = requireDense(await probe(server, auth, hybrid, PROBE));
                  record(chunks, where, 'retrieve hybrid, key+ACL, embeddings server', CONNECTIONS[CONNECTIONS.length - 1], await runLoad({ mode: 'autocannon', url: server.url, path: '/v1/retrieve', headers: auth, bodies: hybrid, connections: CONNECTIONS[CONNECTIONS.length - 1], durationS: DURATION, seed: 3 }));
                  await chat('embeddings-server');
                  await stop(server);
                } finally {
                  restore();
                }
              } else await stop(server);
            } else await stop(server);
          } finally {
            db.prepare('DELETE FROM api_keys').run();
          }
        });
        memory.push({ chunks, placement: where, rss_before_mib: rssBefore, peak_rss_mib: peakMiB });
        log(`  [${where}] RSS of this process (server + workers): ${rssBefore} MiB before, peak ${peakMiB} MiB`);
      }
    } finally {
      for (const s of servers.splice(0)) await s.close().catch(() => undefined);
      db.prepare('DELETE FROM api_keys').run();
      db.close();
    }
  }
} finally {
  await cleanup();
}

// ---------- report ----------
console.log(
  `\nChat API under load — embedder ${MODEL_ID} (${EMBEDDER === 'e5-shaped' ? 'e5-small compute shape, random weights' : 'tiny test model'}), query-vector cache ${QUERY_CACHE} per worker, ${os.cpus().length} CPUs, ${DURATION} s per scenario, loopback, autocannon in a child process, load1 at the end ${load1()}`,
);
console.log('| chunks | placement | scenario | conns | req/s | p50 ms | p99 ms | TTFT p50 | TTFT p99 | requests | errors | CPU ms/req | server-thread ms/req | ceiling req/s on idle cores |');
console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const cap = r.placement === '-' ? '' : ceiling(r);
  console.log(`| ${r.chunks} | ${r.placement} | ${r.scenario} | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.ttft_p50 ?? ''} | ${r.ttft_p99 ?? ''} | ${r.requests} | ${r.errors} | ${r.cpu_ms_per_req} | ${r.main_ms_per_req} | ${cap} |`);
}

// Side-by-side ratios from this run: each placement against the first one (in-process by
// default), and hybrid with ACL against its baselines within a placement.
const find = (chunks: number, where: string, scenario: string, c: number) => rows.find((r) => r.chunks === chunks && r.placement === where && r.scenario === scenario && r.connections === c);
const ratios: Record<string, unknown>[] = [];
const base = placement(WORKERS[0]);
for (const chunks of CHUNKS) {
  for (const w of WORKERS) {
    const where = placement(w);
    for (const c of CONNECTIONS) {
      const open = find(chunks, where, 'retrieve hybrid, no auth', c);
      const acl = find(chunks, where, 'retrieve hybrid, key+ACL', c);
      const bm = find(chunks, where, 'retrieve bm25, key+ACL', c);
      const baseAcl = find(chunks, base, 'retrieve hybrid, key+ACL', c);
      if (open && acl && bm) {
        ratios.push({
          chunks,
          placement: where,
          connections: c,
          hybrid_acl_ceiling_rps: ceiling(acl),
          acl_vs_open_rps: Math.round((acl.rps / open.rps) * 100) / 100,
          hybrid_vs_bm25_rps: Math.round((acl.rps / bm.rps) * 100) / 100,
          ...(baseAcl && where !== base ? { [`hybrid_acl_rps_vs_${base}`]: Math.round((acl.rps / baseAcl.rps) * 100) / 100, [`hybrid_acl_p99_vs_${base}`]: Math.round((acl.p99 / baseAcl.p99) * 100) / 100 } : {}),
        });
      }
    }
  }
}
console.log(`\nRatios (same run): hybrid key+ACL vs hybrid no-auth and vs bm25 (same placement), and vs ${base}`);
for (const r of ratios) console.log(`  ${JSON.stringify(r)}`);
if (chatSummary.length) {
  console.log(`\nChat: latency our server adds over the fixed-delay upstream (${CHAT_CONNECTIONS.join(', ')} clients)`);
  for (const c of chatSummary) console.log(`  ${JSON.stringify(c)}`);
}
console.log('\nRSS of the bench process (server, its worker threads, the load driver; load generator and upstreams are other processes): before and peak while each placement ran (a later placement starts from what the earlier one left; run one placement alone for a clean figure):');
for (const m of memory) console.log(`  ${JSON.stringify(m)}`);
console.log('\nPer-stage server timings (ms, sequential probe, from the /v1/retrieve `timings` field; workers add queue + transfer):');
for (const [k, v] of Object.entries(probes)) console.log(`  ${k}: ${JSON.stringify(v)}`);
console.log(
  JSON.stringify({
    bench: 'server-load',
    embedder: MODEL_ID,
    cpus: os.cpus().length,
    duration_s: DURATION,
    rows,
    ratios,
    chat: chatSummary,
    memory,
    probes,
    seconds: Math.round((Date.now() - started) / 1000),
  }),
);

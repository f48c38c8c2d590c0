// HNSW benchmark: build speed, search latency and recall@10 of the dense index (src/vector/hnsw.ts)
// against exact brute-force search (hnswlib's BruteforceSearch, native) measured in the same run.
//
//   node --import tsx bench/hnsw.ts [--n 100000] [--dim 384] [--clusters 1000] [--queries 1000]
//        [--m 16] [--ef-construction 200] [--ef 128] [--ef-sweep 64,128,256] [--exact-queries N]
//        [--seed 42] [--intrinsic-dim 24] [--keep-file]
//
// Data: clustered unit vectors shaped like text embeddings — cluster sizes vary (log-normal),
// spreads vary per cluster, and every vector shares a common direction (embedding models are
// anisotropic: unrelated texts still have cosine ≈ 0.2-0.5). Queries are perturbed data points.
// --intrinsic-dim D (default 24): within a cluster, vectors vary mostly along D cluster-specific
// directions (plus 15% isotropic noise), as sentence embeddings do — their local intrinsic
// dimension is in the tens, not 384. --intrinsic-dim 0 draws the noise isotropically in all
// dimensions: the hardest case for any ANN index (neighbours become nearly equidistant).
// At --n 1000000 vectors are generated and inserted in blocks with progress lines; brute force
// costs n·dim per query, so pass --exact-queries 200 there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { loadConfig } from '../src/config/index.ts';
import { HnswIndex } from '../src/vector/hnsw.ts';
import { createRng } from '../src/util/rng.ts';
import { parseFlags } from './fixtures/flags.ts';

const { BruteforceSearch } = hnswlib;

const flags = parseFlags;

function configDefaults(): { m: number; ef_construction: number; ef_search: number; source: string } {
  try {
    const c = loadConfig().index;
    return { ...c, source: 'config' };
  } catch (err) {
    console.error(`(config not loadable, using built-in defaults: ${(err as Error).message.split('\n')[0]})`);
    return { m: 16, ef_construction: 200, ef_search: 128, source: 'built-in' };
  }
}

const f = flags(process.argv.slice(2));
const num = (k: string, d: number, min = 1): number => {
  const v = f.has(k) ? Number(f.get(k)) : d;
  if (!Number.isFinite(v) || v < min) throw new Error(`--${k} must be a number ≥ ${min}`);
  return v;
};
const defaults = configDefaults();
const N = num('n', 100_000);
const DIM = num('dim', 384);
const CLUSTERS = num('clusters', 1000);
const QUERIES = num('queries', 1000);
const M = num('m', defaults.m);
const EFC = num('ef-construction', defaults.ef_construction);
const EF = num('ef', defaults.ef_search);
const SEED = num('seed', 42);
const INTRINSIC = num('intrinsic-dim', 24, 0);
const EXACT_Q = Math.min(QUERIES, num('exact-queries', QUERIES));
const SWEEP = (f.get('ef-sweep') ?? [Math.max(10, Math.round(EF / 2)), EF, EF * 2].join(','))
  .split(',')
  .map(Number)
  .filter((x) => x > 0);
if (!SWEEP.includes(EF)) SWEEP.push(EF);
SWEEP.sort((a, b) => a - b);
const K = 10;
const BLOCK = 10_000;

// ---------- deterministic data ----------
const rand = createRng(SEED);
let spare: number | null = null;
function gauss(): number {
  if (spare !== null) {
    const s = spare;
    spare = null;
    return s;
  }
  let u = 0;
  while (u === 0) u = rand();
  const v = rand();
  const r = Math.sqrt(-2 * Math.log(u));
  spare = r * Math.sin(2 * Math.PI * v);
  return r * Math.cos(2 * Math.PI * v);
}
function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}
function randomUnit(): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = gauss();
  return normalise(v);
}

const common = randomUnit();
const centers: Float32Array[] = [];
const spreads: number[] = [];
const weights: number[] = [];
for (let c = 0; c < CLUSTERS; c++) {
  const dir = randomUnit();
  const center = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) center[i] = 0.55 * common[i] + dir[i];
  centers.push(normalise(center));
  // Noise-to-signal norm ratio 0.4..1.6: tight topical clusters to diffuse ones.
  spreads.push((0.4 + 1.2 * rand()) / Math.sqrt(DIM));
  weights.push(Math.exp(gauss())); // log-normal cluster sizes
}
// Per-cluster directions of variation (only with --intrinsic-dim > 0).
const bases: Float32Array[][] = centers.map(() => Array.from({ length: INTRINSIC }, () => randomUnit()));
const coef = new Float32Array(Math.max(1, INTRINSIC));
/** Adds noise of norm ≈ scale·√DIM around a cluster: low-rank + 15% isotropic, or fully isotropic. */
function addNoise(v: Float32Array, c: number, scale: number): void {
  if (INTRINSIC === 0) {
    for (let i = 0; i < DIM; i++) v[i] += scale * gauss();
    return;
  }
  const lowRank = (scale * Math.sqrt(DIM) * 0.85) / Math.sqrt(INTRINSIC);
  for (let k = 0; k < INTRINSIC; k++) coef[k] = lowRank * gauss();
  const iso = scale * 0.15;
  for (let i = 0; i < DIM; i++) {
    let x = iso * gauss();
    for (let k = 0; k < INTRINSIC; k++) x += coef[k] * bases[c][k][i];
    v[i] += x;
  }
}
const cumulative: number[] = [];
weights.reduce((acc, w, i) => (cumulative[i] = acc + w), 0);
const totalWeight = cumulative[cumulative.length - 1];
function pickCluster(): number {
  const x = rand() * totalWeight;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Vectors live in blocks of BLOCK so 1M × 384 never needs one 1.5 GB allocation. */
const blocks: Float32Array[] = [];
const clusterOf = new Uint32Array(N);
const at = (i: number): Float32Array => blocks[Math.floor(i / BLOCK)].subarray((i % BLOCK) * DIM, ((i % BLOCK) + 1) * DIM);
function generateBlock(start: number): void {
  const count = Math.min(BLOCK, N - start);
  const block = new Float32Array(count * DIM);
  for (let j = 0; j < count; j++) {
    const c = pickCluster();
    clusterOf[start + j] = c;
    const v = block.subarray(j * DIM, (j + 1) * DIM);
    const center = centers[c];
    v.set(center);
    addNoise(v, c, spreads[c]);
    normalise(v);
  }
  blocks.push(block);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const log = (msg: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---------- build ----------
log(`n=${N} dim=${DIM} clusters=${CLUSTERS} m=${M} efC=${EFC} ef=${EF} (defaults from ${defaults.source}) cpus=${os.cpus().length}`);
const index = HnswIndex.create(DIM, N, { m: M, efConstruction: EFC, seed: SEED }, EF);
let genMs = 0;
let buildMs = 0;
let lastReport = Date.now();
for (let start = 0; start < N; start += BLOCK) {
  let t0 = process.hrtime.bigint();
  generateBlock(start);
  genMs += ms(t0);
  t0 = process.hrtime.bigint();
  const end = Math.min(N, start + BLOCK);
  for (let i = start; i < end; i++) index.add(i, at(i));
  buildMs += ms(t0);
  if (Date.now() - lastReport > 10_000 || end === N) {
    lastReport = Date.now();
    const rate = end / (buildMs / 1000);
    log(`built ${end}/${N} (${((100 * end) / N).toFixed(0)}%), ${rate.toFixed(0)} vectors/s, eta ${((N - end) / rate).toFixed(0)} s`);
  }
}
const buildRate = N / (buildMs / 1000);

// ---------- queries: perturbed data points ----------
const queries: Float32Array[] = [];
for (let q = 0; q < QUERIES; q++) {
  const i = Math.floor(rand() * N);
  const v = Float32Array.from(at(i));
  addNoise(v, clusterOf[i], spreads[clusterOf[i]] * 0.5);
  queries.push(normalise(v));
}
const toArray = (v: Float32Array): number[] => Array.from(v);

// ---------- exact baseline ----------
log(`exact brute force for ${EXACT_Q} queries over ${N} vectors…`);
const bf = new BruteforceSearch('cosine', DIM);
bf.initIndex(N);
for (let i = 0; i < N; i++) bf.addPoint(toArray(at(i)), i);
const truth: number[][] = [];
const bfLat: number[] = [];
for (let q = 0; q < EXACT_Q; q++) {
  const t0 = process.hrtime.bigint();
  const r = bf.searchKnn(toArray(queries[q]), K);
  bfLat.push(ms(t0));
  truth.push(r.neighbors);
}

// ---------- HNSW at each ef ----------
interface Row {
  ef: number;
  recall: number;
  p50: number;
  p99: number;
  mean: number;
  qps: number;
  speedup: number;
}
const rows: Row[] = [];
const bfMean = bfLat.reduce((a, b) => a + b, 0) / bfLat.length;
for (const ef of SWEEP) {
  index.setEfSearch(ef);
  for (let q = 0; q < Math.min(50, QUERIES); q++) index.search(queries[q], K); // warm-up
  const lat: number[] = [];
  let hit = 0;
  for (let q = 0; q < QUERIES; q++) {
    const t0 = process.hrtime.bigint();
    const res = index.search(queries[q], K);
    lat.push(ms(t0));
    if (q < EXACT_Q) {
      const want = new Set(truth[q]);
      for (const h of res) if (want.has(h.label)) hit++;
    }
  }
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  rows.push({ ef, recall: hit / (EXACT_Q * K), p50: pct(lat, 50), p99: pct(lat, 99), mean, qps: 1000 / mean, speedup: bfMean / mean });
}
index.setEfSearch(EF);

// ---------- persistence ----------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-hnsw-'));
const file = path.join(dir, 'bench.hnsw');
let t0 = process.hrtime.bigint();
await index.writeAtomic(file);
const writeMs = ms(t0);
const fileBytes = fs.statSync(file).size;
t0 = process.hrtime.bigint();
const reloaded = await HnswIndex.loadAsync(file, DIM, { liveCount: N });
const loadMs = ms(t0);
const sane = reloaded.search(queries[0], K)[0]?.label === index.search(queries[0], K)[0]?.label;
if (f.get('keep-file') !== 'true') fs.rmSync(dir, { recursive: true, force: true });

// ---------- report ----------
const fmt = (x: number, d = 2): string => x.toFixed(d);
console.log(`\nHNSW (hnswlib-node, cosine)  n=${N} dim=${DIM} clusters=${CLUSTERS} m=${M} efC=${EFC}`);
console.log(`build: ${fmt(buildMs / 1000, 1)} s, ${buildRate.toFixed(0)} vectors/s (data generation ${fmt(genMs / 1000, 1)} s, not counted)`);
console.log(`file: ${(fileBytes / 2 ** 20).toFixed(0)} MiB, write ${fmt(writeMs / 1000, 2)} s, load ${fmt(loadMs / 1000, 2)} s, reload check ${sane ? 'ok' : 'MISMATCH'}`);
console.log(`exact baseline (BruteforceSearch): mean ${fmt(bfMean)} ms, p99 ${fmt(pct(bfLat, 99))} ms over ${EXACT_Q} queries`);
console.log(`\n   ef | recall@10 |  p50 ms |  p99 ms |    qps | speed-up vs exact`);
for (const r of rows) {
  const mark = r.ef === EF ? '*' : ' ';
  console.log(`${mark}${String(r.ef).padStart(4)} | ${fmt(r.recall, 4).padStart(9)} | ${fmt(r.p50, 3).padStart(7)} | ${fmt(r.p99, 3).padStart(7)} | ${r.qps.toFixed(0).padStart(6)} | ${fmt(r.speedup, 1).padStart(6)}×`);
}
const main = rows.find((r) => r.ef === EF)!;
const goal = main.recall >= 0.95 && main.p99 <= 5;
console.log(`\ngoal (recall@10 ≥ 0.95, p99 ≤ 5 ms at ef=${EF}): ${goal ? 'MET' : 'NOT MET'}`);
console.log(
  JSON.stringify({
    bench: 'hnsw',
    n: N,
    dim: DIM,
    clusters: CLUSTERS,
    intrinsic_dim: INTRINSIC,
    m: M,
    ef_construction: EFC,
    ef_search: EF,
    queries: QUERIES,
    exact_queries: EXACT_Q,
    build_s: +(buildMs / 1000).toFixed(2),
    build_vectors_per_s: Math.round(buildRate),
    file_mib: +(fileBytes / 2 ** 20).toFixed(1),
    write_s: +(writeMs / 1000).toFixed(2),
    load_s: +(loadMs / 1000).toFixed(2),
    exact_mean_ms: +bfMean.toFixed(3),
    sweep: rows.map((r) => ({ ef: r.ef, recall_at_10: +r.recall.toFixed(4), p50_ms: +r.p50.toFixed(3), p99_ms: +r.p99.toFixed(3), speedup: +r.speedup.toFixed(1) })),
    goal_met: goal,
    rss_mib: Math.round(process.memoryUsage().rss / 2 ** 20),
  }),
);

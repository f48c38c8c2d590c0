// Ingestion benchmark: the weekly pipeline (ingest/pipeline.ts) on a generated demo corpus, with
// two baselines measured in the same process:
//   1. pure embedding of exactly the texts the pipeline embedded (fresh embedder, no cache, same
//      batches) → pipeline overhead = (pipeline total − embedding alone) / embedding alone
//   2. the full run itself → weekly refresh with a fraction of documents changed, as a share of it
//
//   node --import tsx bench/ingest.ts [--docs 100000] [--model tiny|e5-shaped] [--dtype q8]
//        [--changed 0.01] [--seed 7] [--out bench/out] [--keep]
//
// --model tiny: the test fixture model (one embedding lookup, dim 384) — near-zero model cost,
//   so the run shows the pipeline's own throughput.
// --model e5-shaped: bench/fixtures/e5-small-shaped.ts, a compute-shaped stand-in for
//   multilingual-e5-small with RANDOM weights (12 layers, hidden 384, real attention) — the
//   embedding cost a real deployment pays, so the overhead ratio means something.
// Both use the same tokenizer (tiny WordPiece + full CJK block + the corpus's English words), so
// chunks are identical between the two models for the same --docs/--seed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig, type Config } from '../src/config/index.ts';
import { openStore, type DB } from '../src/store/index.ts';
import { silentLogger } from '../src/log/index.ts';
import { createProgress } from '../src/progress/index.ts';
import { LocalEmbedder } from '../src/embeddings/local.ts';
import { generateDemoCorpus, demoSourceConfigs } from '../src/demo/generate.ts';
import { runIngestion } from '../ingest/pipeline.ts';
import type { RunReport } from '../ingest/report.ts';
import { buildTinyModel } from '../test/fixtures/tiny-model/build.ts';
import { buildE5ShapedModel } from './fixtures/e5-small-shaped.ts';
import { corpusWords, mutateCorpus } from './fixtures/corpus.ts';
import { parseFlags } from './fixtures/flags.ts';

const flags = parseFlags;

const f = flags(process.argv.slice(2));
const known = new Set(['docs', 'model', 'dtype', 'changed', 'seed', 'out', 'keep']);
for (const k of f.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k} (known: ${[...known].join(', ')})`);
const num = (k: string, d: number): number => {
  const v = f.has(k) ? Number(f.get(k)) : d;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
  return v;
};
const DOCS = Math.round(num('docs', 100_000));
const MODEL = f.get('model') ?? 'tiny';
if (MODEL !== 'tiny' && MODEL !== 'e5-shaped') throw new Error(`--model must be tiny or e5-shaped, got ${MODEL}`);
const DTYPE = (f.get('dtype') ?? 'q8') as 'q8' | 'fp32';
if (DTYPE !== 'q8' && DTYPE !== 'fp32') throw new Error(`--dtype must be q8 or fp32`);
const CHANGED = num('changed', 0.01);
const SEED = Math.round(num('seed', 7));
const OUT = path.resolve(f.get('out') ?? 'bench/out');
const KEEP = f.get('keep') === 'true';
const LABEL =
  MODEL === 'e5-shaped'
    ? `compute-shaped stand-in for e5-small (random weights), ${DTYPE}`
    : 'tiny test model (embedding lookup only), dim 384';

const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const secs = (t0: number) => (performance.now() - t0) / 1000;
const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);
// maxRSS is in KiB on Linux.
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);
/** Process CPU seconds (all threads, ONNX Runtime's included): less sensitive than wall time to other load on a shared machine. */
const cpuSecs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const load1 = () => Math.round(os.loadavg()[0] * 100) / 100;

// ---------- setup (not timed as part of any figure) ----------
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-ingest-'));
const corpusDir = path.join(root, 'corpus');
const dataDir = path.join(root, 'data');
log(`docs=${DOCS} model=${MODEL} (${LABEL}) seed=${SEED} changed=${CHANGED} dir=${root} cpus=${os.cpus().length}`);

let t = performance.now();
const corpus = await generateDemoCorpus({ docs: DOCS, seed: SEED, outDir: corpusDir });
log(`generated corpus in ${secs(t).toFixed(1)} s (${JSON.stringify(corpus.plan)}, ${corpus.malformed.length} malformed records)`);

t = performance.now();
const words = corpusWords(corpusDir);
const modelId = MODEL === 'tiny' ? 'bench/tiny' : 'bench/e5-small-shaped';
const modelDir = path.join(dataDir, 'models', modelId);
if (MODEL === 'tiny') await buildTinyModel(modelDir, { dim: 384, fullCjk: true, extraWords: words });
else await buildE5ShapedModel(modelDir, { extraWords: words });
log(`built ${modelId} (+${words.length} corpus words in the vocabulary) in ${secs(t).toFixed(1)} s`);

const config: Config = loadConfig({
  env: {},
  overrides: {
    data_dir: dataDir,
    sources: demoSourceConfigs(corpusDir),
    embedding: { provider: 'local', model: modelId, allow_remote: false, dtype: DTYPE },
  },
});
const db: DB = openStore(path.join(dataDir, 'kb.sqlite'));
const ctx = { config, db, log: silentLogger };
const progress = createProgress(process.stderr, false);

// ---------- 1. full ingestion ----------
log('full ingestion …');
const loadAvg = { full_start: load1(), full_end: 0, alone_end: 0, refresh_end: 0 };
let cpu0 = cpuSecs();
const full = await runIngestion(ctx, { progress });
const cpu = { full: cpuSecs() - cpu0, alone: 0, refresh: 0 };
loadAvg.full_end = load1();
if (full.status !== 'succeeded') throw new Error(`full ingestion ${full.status}: ${full.error}`);
const afterFull = { rss: rssMiB(), peak: peakMiB() };
log(`full ingestion done in ${full.seconds.total} s`);

// ---------- 2. embedding alone, same texts, same batches ----------
// Replays what syncDenseIndex + embedWithCache embedded: chunks in id order, groups of 1000
// (syncDenseIndex's batch), within a group each embed_hash not embedded before, in slices of
// embedding.batch_size. Fresh embedder, no cache, no SQLite writes.
const chunkRows = db.prepare('SELECT embed_hash, embed_text, token_count FROM chunks WHERE retired_at IS NULL ORDER BY id').all() as {
  embed_hash: string;
  embed_text: string;
  token_count: number;
}[];
const batches: string[][] = [];
{
  const seen = new Set<string>();
  for (let g = 0; g < chunkRows.length; g += 1000) {
    const misses: string[] = [];
    for (const c of chunkRows.slice(g, g + 1000)) {
      if (seen.has(c.embed_hash)) continue;
      seen.add(c.embed_hash);
      misses.push(c.embed_text);
    }
    for (let i = 0; i < misses.length; i += config.embedding.batch_size) batches.push(misses.slice(i, i + config.embedding.batch_size));
  }
}
const alone = { texts: batches.reduce((n, b) => n + b.length, 0), load_s: 0, embed_s: 0 };
if (alone.texts !== full.embedding.embedded) {
  throw new Error(`replay has ${alone.texts} texts but the pipeline embedded ${full.embedding.embedded}: the baseline would not be like for like`);
}
log(`embedding alone: ${alone.texts} texts in ${batches.length} batches …`);
{
  const embedder = new LocalEmbedder(config.embedding, path.join(dataDir, 'models'));
  t = performance.now();
  await embedder.load();
  alone.load_s = secs(t);
  const bar = progress.stage('embed-alone', alone.texts);
  t = performance.now();
  cpu0 = cpuSecs();
  for (const b of batches) {
    await embedder.embedPassages(b);
    bar.tick(b.length);
  }
  alone.embed_s = secs(t);
  cpu.alone = cpuSecs() - cpu0;
  loadAvg.alone_end = load1();
  bar.done();
  await embedder.dispose();
}
const tokens = chunkRows.reduce((n, c) => n + c.token_count, 0);
const chars = chunkRows.reduce((n, c) => n + c.embed_text.length, 0);

// ---------- 3. weekly refresh with a fraction of documents changed ----------
t = performance.now();
const mutated = mutateCorpus(corpusDir, CHANGED);
log(`changed ${mutated.total} documents (${JSON.stringify(mutated)}) in ${secs(t).toFixed(1)} s; refresh …`);
cpu0 = cpuSecs();
const refresh = await runIngestion(ctx, { progress });
cpu.refresh = cpuSecs() - cpu0;
loadAvg.refresh_end = load1();
if (refresh.status !== 'succeeded') throw new Error(`refresh ${refresh.status}: ${refresh.error}`);

db.close();
const dbBytes = fs.readdirSync(dataDir).filter((n) => n.startsWith('kb.sqlite')).reduce((s, n) => s + fs.statSync(path.join(dataDir, n)).size, 0);
if (!KEEP) fs.rmSync(root, { recursive: true, force: true });

// ---------- report ----------
const docsIn = (r: RunReport) => r.docs.new + r.docs.changed;
const stages = ['read', 'clean', 'dedupe', 'chunk', 'store', 'delete', 'embed', 'index', 'total'];
const rate = (n: number, s: number | undefined) => (s && s > 0 ? n / s : NaN);
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
const fullDocs = full.docs.seen;
const fullChunks = full.chunks.added;
const overheadPct = ((full.seconds.total - alone.embed_s) / alone.embed_s) * 100;
const refreshShare = refresh.seconds.total / full.seconds.total;

const lines: string[] = [];
lines.push(`\ningestion benchmark — ${LABEL}`);
lines.push(`corpus: ${fmt(DOCS)} generated docs (seed ${SEED}) → seen ${fmt(fullDocs)} records, stored ${fmt(docsIn(full))} docs, quarantined ${fmt(full.docs.quarantined)} (dupes ${fmt(full.docs.duplicates)}), ${fmt(fullChunks)} chunks, ${fmt(full.embedding.embedded)} unique embed texts`);
lines.push(`chunks: mean ${fmt(tokens / chunkRows.length, 1)} tokens, ${fmt(chars / chunkRows.length, 0)} chars (bench tokenizer); model ${config.embedding.model} ${DTYPE}, batch ${config.embedding.batch_size}`);
lines.push('');
lines.push(`stage      full run s   docs/s (seen)   chunks/s   │ refresh s`);
for (const s of stages) {
  const v = full.seconds[s];
  lines.push(
    `${s.padEnd(10)} ${fmt(v ?? NaN, 2).padStart(10)}   ${fmt(rate(fullDocs, v)).padStart(13)}   ${fmt(rate(fullChunks, v)).padStart(8)}   │ ${fmt(refresh.seconds[s] ?? NaN, 2).padStart(9)}`,
  );
}
lines.push('');
lines.push(`embedding alone (same ${fmt(alone.texts)} texts, same batches, fresh embedder, no cache): ${fmt(alone.embed_s, 2)} s (+ model load ${fmt(alone.load_s, 2)} s) = ${fmt(alone.texts / alone.embed_s, 1)} texts/s, ${fmt(tokens / alone.embed_s, 0)} tokens/s`);
lines.push(`pipeline total / embedding alone = ${fmt(full.seconds.total / alone.embed_s, 3)}  → overhead ${fmt(overheadPct, 1)}% (goal ≤ 15%)`);
lines.push(`pipeline embed stage / embedding alone = ${fmt((full.seconds.embed ?? NaN) / alone.embed_s, 3)} (same forward passes + the cache writes: far from 1 means machine load differed between the two)`);
lines.push(`pipeline time outside the embed stage = ${fmt(full.seconds.total - (full.seconds.embed ?? 0), 2)} s = ${fmt(((full.seconds.total - (full.seconds.embed ?? 0)) / alone.embed_s) * 100, 1)}% of embedding alone`);
lines.push(`cpu seconds (process, all threads): pipeline ${fmt(cpu.full, 1)} / embedding alone ${fmt(cpu.alone, 1)} = ${fmt(cpu.full / cpu.alone, 3)} → overhead ${fmt((cpu.full / cpu.alone - 1) * 100, 1)}%; refresh ${fmt(cpu.refresh, 1)} = ${fmt((cpu.refresh / cpu.full) * 100, 2)}% of full`);
lines.push(`load average (1 min) full start ${loadAvg.full_start}, full end ${loadAvg.full_end}, alone end ${loadAvg.alone_end}, refresh end ${loadAvg.refresh_end} on ${os.cpus().length} cpus — above ${os.cpus().length} means other processes competed`);
lines.push(`refresh: ${fmt(mutated.total)} docs changed (${fmt((mutated.total / docsIn(full)) * 100, 2)}% of stored) → docs changed ${fmt(refresh.docs.changed)}, new ${fmt(refresh.docs.new)} (edited copies of records quarantined as duplicates last run), unchanged ${fmt(refresh.docs.unchanged)}, embedded ${fmt(refresh.embedding.embedded)}, cache hits ${fmt(refresh.embedding.cache_hits)}`);
lines.push(`refresh total / full total = ${fmt(refresh.seconds.total, 2)} / ${fmt(full.seconds.total, 2)} = ${fmt(refreshShare * 100, 2)}% (goal ≤ 3%)`);
lines.push(`memory: rss after full run ${afterFull.rss} MiB, peak rss ${peakMiB()} MiB; store ${fmt(dbBytes / 2 ** 20, 0)} MiB`);
console.log(lines.join('\n'));

const json = {
  bench: 'ingest',
  label: LABEL,
  model: MODEL,
  dtype: DTYPE,
  docs: DOCS,
  seed: SEED,
  cpus: os.cpus().length,
  full: { docs: full.docs, chunks: full.chunks, seconds: full.seconds, embedded: full.embedding.embedded },
  chunk_stats: { count: chunkRows.length, mean_tokens: tokens / chunkRows.length, mean_chars: chars / chunkRows.length },
  embed_alone: alone,
  outside_embed_stage_s: full.seconds.total - (full.seconds.embed ?? 0),
  ratio_total_vs_embed_alone: full.seconds.total / alone.embed_s,
  overhead_pct: overheadPct,
  refresh: { changed_fraction: CHANGED, mutated, docs: refresh.docs, chunks: refresh.chunks, seconds: refresh.seconds, embedded: refresh.embedding.embedded, cache_hits: refresh.embedding.cache_hits },
  refresh_share: refreshShare,
  cpu_seconds: cpu,
  cpu_ratio_total_vs_embed_alone: cpu.full / cpu.alone,
  load_avg_1m: loadAvg,
  memory_mib: { rss_after_full: afterFull.rss, peak: peakMiB(), store: dbBytes / 2 ** 20 },
};
fs.mkdirSync(OUT, { recursive: true });
const outFile = path.join(OUT, `ingest-${MODEL}-${DTYPE}-${DOCS}.json`);
fs.writeFileSync(outFile, `${JSON.stringify(json, null, 2)}\n`);
console.log(`BENCH_INGEST ${JSON.stringify(json)}`);
log(`wrote ${outFile}${KEEP ? `; kept ${root}` : ''}`);

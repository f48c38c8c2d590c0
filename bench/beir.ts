// Retrieval quality on a BEIR-layout QA set: the SERVED retriever (what /v1/retrieve runs, with
// the configured fusion stages and reranker), our BM25 leg alone, and the peer
// wink-bm25-text-search, side by side in one run on the same passages and queries, with paired
// randomization tests (src/eval/compare.ts) of served vs peer and served vs leg.
//
//   node --import tsx bench/beir.ts --dataset ../shared/eval/cmrc2018 [--limit N] [--traditional 500]
//        [--mode bm25|hybrid|dense] [--zh-stopwords FILE] [--per-query-dir DIR] [--vector-cache FILE]
//
// Rows:
//   leg      ftsQuery(query) → searchBm25(db, expr, 10): the BM25 leg alone, through SQLite FTS5
//            (exhaustive; k1 1.2 / b 0.75, FTS5's fixed values)
//   engine   the same leg through the BM25 engine (src/bm25: a block-max index file built from the
//            store with the configured k1/b, as the ingest job builds it; Bm25Leg.search over the
//            analysed query terms): what production serves. At 1.2 / 0.75 its figures must equal
//            the FTS5 row's (same scores, same ties).
//   served   createServedRetriever(config) in --mode (default bm25), with the engine as its BM25 leg
//            like openRetriever: fusion (retrieval.fusion), recency (time-sensitive
//            questions), reranker (if configured), exact matches, per-document cap, MMR — exactly
//            what `kb eval retrieval` and /v1/retrieve run with config/default.yaml (+ local/env)
//   peer     wink-bm25-text-search BM25F, k1 1.2, b 0.75, each passage ONE field `title + "\n" + text`.
//            Chinese: @node-rs/jieba cutForSearch(text, false), lower-cased, tokens without a
//            letter/digit dropped, stopwords-iso Chinese list removed (--zh-stopwords: the list as
//            JSON array or one word per line, e.g. stopwords-iso's stopwords-zh.json; without it
//            the peer runs without stopwords and the output says so). English: wink-nlp-utils
//            lowerCase, removePunctuations, tokenize, removeWords (its stopwords), stem (Porter2).
// Published peer figures (recall@1 / nDCG@10), for reference: CMRC 0.978 / 0.990, SQuAD 0.794 / 0.883.
// For a Chinese set, --traditional N (default 500) converts the first N queries to Traditional
// Chinese (opencc-js cn → tw) and reports our leg on them next to the same queries in Simplified.
// Passages: one document + one chunk each (see src/eval/store.ts). Metrics: src/eval/metrics.ts.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import OpenCC from 'opencc-js';
import { searchBm25 } from '../src/bm25/index.ts';
import { bm25ParamsOf, describeBm25Params, sameBm25Params, FTS5_BM25 } from '../src/bm25/scoring.ts';
import { loadConfig } from '../src/config/index.ts';
import { createEmbedder } from '../src/embeddings/factory.ts';
import type { Embedder } from '../src/embeddings/types.ts';
import { loadBeir, type BeirDataset, type BeirQuery } from '../src/eval/beir.ts';
import { comparePerQuery, type CompareMetric, type Comparison } from '../src/eval/compare.ts';
import { summarize, type MetricSummary } from '../src/eval/metrics.ts';
import { perQueryRecord, type PerQueryRecord } from '../src/eval/retrieval.ts';
import { buildBm25Leg, buildDenseIndex, ingestPassages, openEvalStore } from '../src/eval/store.ts';
import { createServedRetriever, describeServedRetriever } from '../src/retrieval/open.ts';
import { analyze, ftsQuery } from '../src/text/analyzer.ts';
import type { DenseIndexReader } from '../src/vector/reader.ts';
import { parseFlags } from './fixtures/flags.ts';
import { fileCachedEmbedder } from './fixtures/vector-cache.ts';

const require = createRequire(import.meta.url);

interface WinkEngine {
  defineConfig(cfg: { fldWeights: Record<string, number>; bm25Params?: { k1?: number; b?: number; k?: number } }): boolean;
  definePrepTasks(tasks: Array<(x: never) => unknown>, field?: string): number;
  addDoc(doc: Record<string, string>, id: string): number;
  consolidate(fp?: number): void;
  search(text: string, limit?: number): Array<[string, number]>;
}
const winkBm25 = require('wink-bm25-text-search') as () => WinkEngine;
const winkNlp = require('wink-nlp-utils') as {
  string: { lowerCase(s: string): string; removePunctuations(s: string): string; tokenize(s: string): string[] };
  tokens: { removeWords(t: string[]): string[]; stem(t: string[]): string[] };
};

const K = 10;
const HAN = /\p{Script=Han}/u;
const WORDISH = /[\p{L}\p{N}]/u;
const KEYS = ['recall@1', 'recall@5', 'recall@10', 'mrr@10', 'ndcg@10'] as const;

interface Run {
  name: string;
  metrics: MetricSummary;
  buildS: number;
  queryMs: number;
  perQuery: Map<string, PerQueryRecord>;
}

function isChinese(ds: BeirDataset): boolean {
  const sample = ds.queries.slice(0, 200);
  return sample.filter((q) => HAN.test(q.text)).length > sample.length / 2;
}

async function runQueries(
  name: string,
  buildS: number,
  queries: readonly BeirQuery[],
  ds: BeirDataset,
  run: (q: string) => Promise<string[]> | string[],
): Promise<Run> {
  const runs: { ranked: string[]; rel: Map<string, number> }[] = [];
  const perQuery = new Map<string, PerQueryRecord>();
  const t = performance.now();
  for (const q of queries) {
    const r = { ranked: await run(q.text), rel: ds.qrels.get(q.id) as Map<string, number> };
    runs.push(r);
    perQuery.set(q.id, perQueryRecord(q, r, undefined, new Map()));
  }
  return { name, metrics: summarize(runs), buildS, queryMs: (performance.now() - t) / Math.max(1, queries.length), perQuery };
}

function readStopwords(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  const words = text.trim().startsWith('[') ? (JSON.parse(text) as string[]) : text.split(/\r?\n/);
  return new Set(words.map((w) => w.trim()).filter(Boolean));
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const dataset = f.get('dataset');
  if (!dataset) throw new Error('usage: node --import tsx bench/beir.ts --dataset DIR [--limit N] [--traditional N] [--mode bm25|hybrid|dense] [--zh-stopwords FILE] [--per-query-dir DIR]');
  const limit = f.has('limit') ? Number(f.get('limit')) : undefined;
  const mode = (f.get('mode') ?? 'bm25') as 'bm25' | 'hybrid' | 'dense';
  const ds = loadBeir(dataset, { limit });
  const zh = isChinese(ds);
  const config = loadConfig();
  console.log(`dataset ${ds.name}: ${ds.corpus.length} passages, ${ds.queries.length} queries, language ${zh ? 'zh' : 'en'}; node ${process.version}`);

  // --- ours ---
  const store = openEvalStore();
  let t = performance.now();
  const chunkOf = ingestPassages(store.db, ds.corpus, { titlePrefix: config.chunking.title_prefix });
  const oursBuild = (performance.now() - t) / 1000;
  const passageOf = new Map<number, string>();
  for (const [pid, cid] of chunkOf) passageOf.set(cid, pid);
  // The exhaustive reference: FTS5's bm25() over the same analysed terms.
  const ourLeg = (q: string) => {
    const expr = ftsQuery(q);
    return expr ? searchBm25(store.db, expr, K).map((h) => passageOf.get(h.chunkId)!) : [];
  };
  ourLeg(ds.queries[0].text); // warm-up: jieba dictionary + statement cache, outside the timing
  const leg = await runQueries('leg', oursBuild, ds.queries, ds, ourLeg);

  // The same leg through the BM25 engine file with the configured k1/b (what production serves;
  // FTS5 is its fallback).
  t = performance.now();
  const bm25 = buildBm25Leg(store.db, store.dir, config);
  const engineBuild = (performance.now() - t) / 1000;
  const engineRow = await runQueries('engine', oursBuild + engineBuild, ds.queries, ds, (q) =>
    bm25.search([...new Set(analyze(q))], K).map((h) => passageOf.get(h.chunkId)!),
  );
  const engineDiffers = ds.queries.filter((q) => {
    const a = leg.perQuery.get(q.id)!;
    const b = engineRow.perQuery.get(q.id)!;
    return JSON.stringify(a.top) !== JSON.stringify(b.top);
  }).length;
  const params = bm25ParamsOf(config.retrieval.bm25);
  console.log(
    `BM25 engine: version ${bm25.status().version}, ${bm25.status().docs} chunks, ${describeBm25Params(params)}, built in ${engineBuild.toFixed(2)} s; ` +
      `top-10 lists differing from FTS5: ${engineDiffers} of ${ds.queries.length}${sameBm25Params(params, FTS5_BM25) ? '' : ' (FTS5 scores with k1 1.2 / b 0.75: differences expected)'}`,
  );

  let embedder: Embedder | null = null;
  let reader: DenseIndexReader | null = null;
  let denseBuild = 0;
  if (mode !== 'bm25') {
    embedder = createEmbedder(config);
    // --vector-cache: vectors the same model produced in an earlier run (bench/fusion.ts), so the
    // served-path check does not embed the set again (bench/fixtures/vector-cache.ts).
    const cacheFile = f.get('vector-cache');
    if (cacheFile) embedder = fileCachedEmbedder(embedder, cacheFile);
    await embedder.load();
    t = performance.now();
    reader = (await buildDenseIndex(store.db, store.dir, embedder, config)).reader;
    denseBuild = (performance.now() - t) / 1000;
    console.log(`dense index: ${embedder.id}, ${ds.corpus.length} passages embedded in ${denseBuild.toFixed(1)} s`);
  }
  const { retriever, reranker } = createServedRetriever(config, { db: store.db, dense: reader, embedder, bm25 });
  await reranker?.load();
  console.log(describeServedRetriever(config, reranker));
  const servedIn = (m: typeof mode) =>
    runQueries(`served ${m}`, oursBuild + engineBuild + denseBuild, ds.queries, ds, async (q) => {
      const res = await retriever.retrieve({ query: q, topK: K, groups: null, mode: m });
      if (res.degraded.length) throw new Error(`served retriever degraded: ${res.degraded.join('; ')}`);
      return res.hits.map((h) => h.externalId);
    });
  // With a dense model, each leg through the served path too ("hybrid ≥ each leg").
  const legRows = mode === 'hybrid' ? [await servedIn('bm25'), await servedIn('dense')] : [];
  const served = await servedIn(mode);

  // --- peer ---
  const jieba = Jieba.withDict(dict);
  const stopFile = f.get('zh-stopwords');
  const zhStop = stopFile ? readStopwords(stopFile) : new Set<string>();
  if (zh) console.log(stopFile ? `peer stopwords: ${zhStop.size} from ${path.resolve(stopFile)}` : 'peer stopwords: NONE (pass --zh-stopwords for the issue\'s setup)');
  const zhPrep = (text: string): string[] =>
    jieba
      .cutForSearch(text, false)
      .map((w) => w.trim().toLowerCase())
      .filter((w) => WORDISH.test(w) && !zhStop.has(w));
  const enTasks = [winkNlp.string.lowerCase, winkNlp.string.removePunctuations, winkNlp.string.tokenize, winkNlp.tokens.removeWords, winkNlp.tokens.stem];
  t = performance.now();
  const engine = winkBm25();
  engine.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: 1.2, b: 0.75 } });
  engine.definePrepTasks((zh ? [zhPrep] : enTasks) as Array<(x: never) => unknown>);
  for (const p of ds.corpus) engine.addDoc({ body: `${p.title}\n${p.text}` }, p.id);
  engine.consolidate();
  const peerBuild = (performance.now() - t) / 1000;
  const peer = await runQueries('peer', peerBuild, ds.queries, ds, (q) => engine.search(q, K).map(([id]) => id));

  const rows = [leg, engineRow, ...legRows, served, peer];
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`\n${pad('row', 15)}${KEYS.map((k) => pad(k, 11)).join('')}${pad('build s', 9)}ms/query`);
  for (const r of rows) console.log(`${pad(r.name, 15)}${KEYS.map((k) => pad(r.metrics[k].toFixed(4), 11)).join('')}${pad(r.buildS.toFixed(2), 9)}${r.queryMs.toFixed(3)}`);
  const ratio = (a: number, b: number) => (b === 0 ? NaN : a / b);
  console.log(`${pad('served/peer', 15)}${KEYS.map((k) => pad(ratio(served.metrics[k], peer.metrics[k]).toFixed(4), 11)).join('')}`);
  console.log(`${pad('served/leg', 15)}${KEYS.map((k) => pad(ratio(served.metrics[k], leg.metrics[k]).toFixed(4), 11)).join('')}`);

  // Paired randomization tests (10,000 sign flips, seed fixed): is the difference more than noise?
  const tests: Record<string, Comparison> = {};
  console.log('\npaired tests (B − A, 95% bootstrap CI, two-sided p):');
  for (const [a, b] of [[peer, served], [leg, served]] as const) {
    for (const metric of ['recall@1', 'ndcg@10'] as CompareMetric[]) {
      const c = comparePerQuery(a.perQuery, b.perQuery, { metric, permutations: 10_000, top: 5 });
      tests[`${b.name} vs ${a.name} ${metric}`] = c;
      console.log(
        `  ${b.name} − ${a.name}  ${pad(metric, 9)} ${c.diff >= 0 ? '+' : ''}${c.diff.toFixed(4)} [${c.ci95[0].toFixed(4)}, ${c.ci95[1].toFixed(4)}]  p ${c.p.toFixed(4)}  (${c.better} better, ${c.worse} worse)`,
      );
    }
  }
  for (const l of legRows) {
    for (const metric of ['recall@1', 'ndcg@10'] as CompareMetric[]) {
      const c = comparePerQuery(l.perQuery, served.perQuery, { metric, permutations: 10_000 });
      tests[`${served.name} vs ${l.name} ${metric}`] = c;
      console.log(
        `  ${served.name} − ${l.name}  ${pad(metric, 9)} ${c.diff >= 0 ? '+' : ''}${c.diff.toFixed(4)} [${c.ci95[0].toFixed(4)}, ${c.ci95[1].toFixed(4)}]  p ${c.p.toFixed(4)}  (${c.better} better, ${c.worse} worse)`,
      );
    }
  }
  const hybridGeLegs = legRows.length > 0 && legRows.every((l) => served.metrics['recall@1'] >= l.metrics['recall@1'] && served.metrics['ndcg@10'] >= l.metrics['ndcg@10']);
  if (legRows.length > 0) console.log(`${served.name} ≥ each leg (served bm25, served dense) on recall@1 and nDCG@10: ${hybridGeLegs ? 'yes' : 'NO'}`);
  const verdict = served.metrics['recall@1'] >= peer.metrics['recall@1'] && served.metrics['ndcg@10'] >= peer.metrics['ndcg@10'];
  const legVerdict = served.metrics['recall@1'] >= leg.metrics['recall@1'] && served.metrics['ndcg@10'] >= leg.metrics['ndcg@10'];
  console.log(`goal (served ≥ peer on recall@1 and nDCG@10): ${verdict ? 'met' : 'NOT met'}; served ≥ BM25 leg: ${legVerdict ? 'yes' : 'NO'}`);

  const dir = f.get('per-query-dir');
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    for (const r of rows) {
      const file = path.join(dir, `${ds.name}-${r.name.replace(/\s+/g, '-')}.jsonl`);
      fs.writeFileSync(file, [...r.perQuery.values()].map((x) => JSON.stringify(x)).join('\n') + '\n');
    }
    console.log(`per-query files in ${dir} (kb eval compare A B)`);
  }

  let traditional: Record<string, unknown> | null = null;
  const n = Number(f.get('traditional') ?? 500);
  if (zh && n > 0) {
    const toTw = OpenCC.Converter({ from: 'cn', to: 'tw' });
    const sample = ds.queries.slice(0, n);
    const converted = sample.map((q) => ({ ...q, text: toTw(q.text) }));
    const changed = converted.filter((q, i) => q.text !== sample[i].text).length;
    const simp = await runQueries('simp', 0, sample, ds, ourLeg);
    const trad = await runQueries('trad', 0, converted, ds, ourLeg);
    const peerTrad = await runQueries('peer-trad', 0, converted, ds, (q) => engine.search(q, K).map(([id]) => id));
    console.log(
      `\nTraditional Chinese (first ${sample.length} queries converted cn→tw, ${changed} changed): our leg recall@1 ${trad.metrics['recall@1'].toFixed(4)} ` +
        `vs ${simp.metrics['recall@1'].toFixed(4)} Simplified (nDCG@10 ${trad.metrics['ndcg@10'].toFixed(4)} vs ${simp.metrics['ndcg@10'].toFixed(4)}); ` +
        `peer on the Traditional queries: recall@1 ${peerTrad.metrics['recall@1'].toFixed(4)}`,
    );
    traditional = { queries: sample.length, changed, simplified: simp.metrics, traditional: trad.metrics, peer_traditional: peerTrad.metrics };
  }
  reader?.stop();
  store.close();
  await embedder?.dispose?.();
  await reranker?.dispose?.();
  const pick = (r: Run) => ({ ...r.metrics, build_s: r.buildS, query_ms: r.queryMs });
  console.log(
    JSON.stringify({
      bench: 'beir',
      dataset: ds.name,
      mode,
      queries: ds.queries.length,
      leg: pick(leg),
      engine: pick(engineRow),
      engine_differing_top10: engineDiffers,
      ...Object.fromEntries(legRows.map((l) => [l.name.replace(/\s+/g, '_'), pick(l)])),
      served: pick(served),
      peer: pick(peer),
      peer_stopwords: stopFile ? zhStop.size : 0,
      tests: Object.fromEntries(Object.entries(tests).map(([k, c]) => [k, { diff: c.diff, ci95: c.ci95, p: c.p, better: c.better, worse: c.worse }])),
      goal_met: verdict,
      served_ge_leg: legVerdict,
      ...(legRows.length > 0 ? { hybrid_ge_each_leg: hybridGeLegs } : {}),
      traditional,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(`bench/beir: ${(err as Error).message}`);
  process.exitCode = 1;
});

// BM25 benchmark on a BEIR-layout QA set: our BM25 leg (src/text/analyzer.ts + the BM25 engine,
// src/bm25; FTS5 exhaustive beside it as the reference it must equal) against the peer wink-bm25-text-search, measured side by side in one run on
// the same passages and queries.
//
//   node --import tsx bench/beir.ts --dataset ../shared/eval/cmrc2018 [--limit N] [--traditional 500]
//
// Rows:
//   ours       analysed query terms → the BM25 engine's top 10 (src/bm25/leg.ts): the BM25 leg alone
//   fts5       ftsQuery(query) → searchBm25(db, expr, 10): FTS5 exhaustive, the previous leg
//   ours+rr    the product retriever in bm25 mode (RRF of one leg, MMR, per-document cap as in
//              config/default.yaml) — what `kb eval retrieval --mode bm25` reports
//   peer       wink-bm25-text-search (BM25F, k1 1.2, b 0.75), fields title + text weighted 1 each.
//              Prep: Chinese → jieba precise-mode segmentation (@node-rs/jieba cut, HMM on),
//              lower-cased, tokens without a letter/digit dropped, no stemming; English →
//              wink-nlp-utils string.lowerCase, string.removePunctuations, string.tokenize,
//              tokens.removeWords (its stopword list), tokens.stem (Porter2).
// Published peer figures (recall@1 / nDCG@10), for reference: CMRC 0.978 / 0.990, SQuAD 0.794 / 0.883.
// For a Chinese set, --traditional N (default 500) converts the first N queries to Traditional
// Chinese (opencc-js cn → tw) and reports our leg on them next to the same queries in Simplified.
// Passages: one document + one chunk each (see src/eval/store.ts). Metrics: src/eval/metrics.ts.
import { createRequire } from 'node:module';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import OpenCC from 'opencc-js';
import { searchBm25 } from '../src/bm25/index.ts';
import { Bm25Leg } from '../src/bm25/leg.ts';
import { syncBm25Index } from '../src/bm25/versions.ts';
import { loadConfig } from '../src/config/index.ts';
import { loadBeir, type BeirDataset, type BeirQuery } from '../src/eval/beir.ts';
import { summarize, type MetricSummary } from '../src/eval/metrics.ts';
import { ingestPassages, openEvalStore } from '../src/eval/store.ts';
import { createHybridRetriever } from '../src/retrieval/hybrid.ts';
import { analyze, ftsQuery } from '../src/text/analyzer.ts';
import { parseFlags } from './fixtures/flags.ts';

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

const flags = parseFlags;

const K = 10;
const HAN = /\p{Script=Han}/u;
const WORDISH = /[\p{L}\p{N}]/u;

interface Row {
  name: string;
  metrics: MetricSummary;
  buildS: number;
  queryMs: number;
}

function isChinese(ds: BeirDataset): boolean {
  const sample = ds.queries.slice(0, 200);
  return sample.filter((q) => HAN.test(q.text)).length > sample.length / 2;
}

async function timeQueries(queries: readonly BeirQuery[], ds: BeirDataset, run: (q: string) => Promise<string[]> | string[]): Promise<{ metrics: MetricSummary; queryMs: number }> {
  const runs: { ranked: string[]; rel: Map<string, number> }[] = [];
  const t = performance.now();
  for (const q of queries) runs.push({ ranked: await run(q.text), rel: ds.qrels.get(q.id) as Map<string, number> });
  return { metrics: summarize(runs), queryMs: (performance.now() - t) / Math.max(1, queries.length) };
}

async function main(): Promise<void> {
  const f = flags(process.argv.slice(2));
  const dataset = f.get('dataset');
  if (!dataset) throw new Error('usage: node --import tsx bench/beir.ts --dataset DIR [--limit N] [--traditional N]');
  const limit = f.has('limit') ? Number(f.get('limit')) : undefined;
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
  // The BM25 leg is the engine (src/bm25) over a version built from the store, exactly as
  // ingestion leaves it; FTS5 exhaustive runs beside it as the reference it must equal.
  t = performance.now();
  syncBm25Index(store.db, store.dir);
  const leg = new Bm25Leg({ db: store.db, dataDir: store.dir });
  leg.reload();
  const engineBuild = (performance.now() - t) / 1000;
  const ourLeg = (q: string) => leg.search([...new Set(analyze(q))], K).map((h) => passageOf.get(h.chunkId)!);
  const ftsLeg = (q: string) => {
    const expr = ftsQuery(q);
    return expr ? searchBm25(store.db, expr, K).map((h) => passageOf.get(h.chunkId)!) : [];
  };
  ourLeg(ds.queries[0].text); // warm-up: jieba dictionary + statement cache, outside the timing
  ftsLeg(ds.queries[0].text);
  const ours = await timeQueries(ds.queries, ds, ourLeg);
  const fts = await timeQueries(ds.queries, ds, ftsLeg);
  // Lists whose chunks differ (a tie at equal score aside), and the largest score difference.
  // FTS5 re-tokenises the stored terms with unicode61, which splits a few analysed terms (Thai,
  // Devanagari: combining marks) and folds others (Greek accents); where a corpus holds such terms
  // its token counts, hence avgdl, differ slightly from the analysed terms the engine scores.
  let differing = 0;
  let maxScoreDiff = 0;
  for (const q of ds.queries) {
    const terms = [...new Set(analyze(q.text))];
    const a = leg.search(terms, K);
    const b = terms.length ? searchBm25(store.db, ftsQuery(q.text), K) : [];
    a.forEach((h, i) => (maxScoreDiff = Math.max(maxScoreDiff, i < b.length ? Math.abs(h.score - b[i].score) : Infinity)));
    if (a.length !== b.length || a.some((h, i) => h.chunkId !== b[i].chunkId && Math.abs(h.score - b[i].score) > 1e-9 * Math.max(1, h.score))) differing++;
  }
  console.log(
    `engine vs FTS5 exhaustive: ${differing} of ${ds.queries.length} top-${K} lists rank other chunks; largest score difference ${maxScoreDiff.toExponential(2)} (engine version built in ${engineBuild.toFixed(2)} s)`,
  );
  const retriever = createHybridRetriever({ db: store.db, dense: null, embedder: null, config, bm25: leg });
  const oursRr = await timeQueries(ds.queries, ds, async (q) => (await retriever.retrieve({ query: q, topK: K, groups: null, mode: 'bm25' })).hits.map((h) => h.externalId));

  // --- peer ---
  const jieba = Jieba.withDict(dict);
  const zhPrep = (text: string): string[] =>
    jieba
      .cut(text, true)
      .map((w) => w.trim().toLowerCase())
      .filter((w) => WORDISH.test(w));
  const enTasks = [winkNlp.string.lowerCase, winkNlp.string.removePunctuations, winkNlp.string.tokenize, winkNlp.tokens.removeWords, winkNlp.tokens.stem];
  t = performance.now();
  const engine = winkBm25();
  engine.defineConfig({ fldWeights: { title: 1, text: 1 } });
  engine.definePrepTasks((zh ? [zhPrep] : enTasks) as Array<(x: never) => unknown>);
  for (const p of ds.corpus) engine.addDoc({ title: p.title, text: p.text }, p.id);
  engine.consolidate();
  const peerBuild = (performance.now() - t) / 1000;
  const peer = await timeQueries(ds.queries, ds, (q) => engine.search(q, K).map(([id]) => id));

  const rows: Row[] = [
    { name: 'ours', metrics: ours.metrics, buildS: oursBuild + engineBuild, queryMs: ours.queryMs },
    { name: 'fts5', metrics: fts.metrics, buildS: oursBuild, queryMs: fts.queryMs },
    { name: 'ours+rr', metrics: oursRr.metrics, buildS: oursBuild, queryMs: oursRr.queryMs },
    { name: 'peer', metrics: peer.metrics, buildS: peerBuild, queryMs: peer.queryMs },
  ];
  const keys = ['recall@1', 'recall@5', 'recall@10', 'mrr@10', 'ndcg@10'] as const;
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`\n${pad('row', 9)}${keys.map((k) => pad(k, 11)).join('')}${pad('build s', 9)}ms/query`);
  for (const r of rows) {
    console.log(`${pad(r.name, 9)}${keys.map((k) => pad(r.metrics[k].toFixed(4), 11)).join('')}${pad(r.buildS.toFixed(2), 9)}${r.queryMs.toFixed(3)}`);
  }
  const ratio = (a: number, b: number) => (b === 0 ? NaN : a / b);
  console.log(
    `${pad('ours/peer', 9)}${keys.map((k) => pad(ratio(ours.metrics[k], peer.metrics[k]).toFixed(4), 11)).join('')}${pad(ratio(oursBuild, peerBuild).toFixed(2), 9)}${ratio(ours.queryMs, peer.queryMs).toFixed(2)}`,
  );
  const verdict = ours.metrics['recall@1'] >= peer.metrics['recall@1'] && ours.metrics['ndcg@10'] >= peer.metrics['ndcg@10'];
  console.log(`goal (ours ≥ peer on recall@1 and nDCG@10): ${verdict ? 'met' : 'NOT met'}`);

  let traditional: Record<string, unknown> | null = null;
  if (zh) {
    const n = Number(f.get('traditional') ?? 500);
    const toTw = OpenCC.Converter({ from: 'cn', to: 'tw' });
    const sample = ds.queries.slice(0, n);
    const converted = sample.map((q) => ({ ...q, text: toTw(q.text) }));
    const changed = converted.filter((q, i) => q.text !== sample[i].text).length;
    const simp = await timeQueries(sample, ds, ourLeg);
    const trad = await timeQueries(converted, ds, ourLeg);
    const peerTrad = await timeQueries(converted, ds, (q) => engine.search(q, K).map(([id]) => id));
    console.log(
      `\nTraditional Chinese (first ${sample.length} queries converted cn→tw, ${changed} changed): ours recall@1 ${trad.metrics['recall@1'].toFixed(4)} ` +
        `vs ${simp.metrics['recall@1'].toFixed(4)} Simplified (nDCG@10 ${trad.metrics['ndcg@10'].toFixed(4)} vs ${simp.metrics['ndcg@10'].toFixed(4)}); ` +
        `peer on the Traditional queries: recall@1 ${peerTrad.metrics['recall@1'].toFixed(4)}`,
    );
    traditional = { queries: sample.length, changed, simplified: simp.metrics, traditional: trad.metrics, peer_traditional: peerTrad.metrics };
  }
  store.close();
  console.log(
    JSON.stringify({
      bench: 'beir-bm25',
      dataset: ds.name,
      queries: ds.queries.length,
      ours: { ...ours.metrics, build_s: oursBuild + engineBuild, query_ms: ours.queryMs },
      fts5: { ...fts.metrics, query_ms: fts.queryMs },
      engine_vs_fts5_differing: differing,
      engine_vs_fts5_max_score_diff: maxScoreDiff,
      ours_retriever: { ...oursRr.metrics, query_ms: oursRr.queryMs },
      peer: { ...peer.metrics, build_s: peerBuild, query_ms: peer.queryMs },
      ratio: Object.fromEntries(keys.map((k) => [k, ratio(ours.metrics[k], peer.metrics[k])])),
      goal_met: verdict,
      traditional,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(`bench/beir: ${(err as Error).message}`);
  process.exitCode = 1;
});

// Analysis and BM25-parameter choices, chosen with 2-fold cross-validation on the shared QA sets.
//
//   node --import tsx bench/analysis.ts --datasets ../shared/eval/cmrc2018,../shared/eval/squad-v1.1-dev
//        [--variants base,hmm-off,...,k1=1.5/b=0.6,k1b-grid] [--limit N]
//
// A variant is analyser options (src/text/analyzer.ts AnalyzerOptions) and/or BM25 k1/b
// (`k1=K/b=B`; `k1b-grid` = every k1 in {0.9, 1.2, 1.5, 2.0} × b in {0.4, 0.6, 0.75, 0.9}). Each
// analyser setting re-analyses the passages into a fresh eval store once; each k1/b builds an
// engine version of it (syncBm25Index with those params, as `kb ingest` does after a config
// change). Every query runs through the served BM25 leg: analyze (limits.max_query_terms) →
// termStats → pickQueryTerms (retrieval.bm25) → the engine's exact top-10 — on these sets the
// served retriever returns the leg's order (bench/beir.ts shows it). Queries are split into two
// halves by a hash of their id. Selection: on one half, the variant with the best mean nDCG@10
// over the sets such that no set's nDCG@10 or recall@1 falls below the baseline; reported: its
// figures on the OTHER half (held out), then the same with the halves swapped. Paired
// randomization tests (full set) say which differences are more than noise.
import { createHash } from 'node:crypto';
import { pickQueryTerms, queryTermOptionsOf } from '../src/bm25/query-terms.ts';
import { FTS5_BM25, describeBm25Params, type Bm25Params } from '../src/bm25/scoring.ts';
import { loadConfig } from '../src/config/index.ts';
import { loadBeir, type BeirDataset } from '../src/eval/beir.ts';
import { comparePerQuery } from '../src/eval/compare.ts';
import { summarize, type MetricSummary } from '../src/eval/metrics.ts';
import { perQueryRecord, type PerQueryRecord } from '../src/eval/retrieval.ts';
import { buildBm25LegWith, ingestPassages, openEvalStore } from '../src/eval/store.ts';
import { ANALYZER_DEFAULTS, analyze, setAnalyzerOptions, type AnalyzerOptions } from '../src/text/analyzer.ts';
import { parseFlags } from './fixtures/flags.ts';

const ANALYZER_VARIANTS: Record<string, Partial<AnalyzerOptions>> = {
  base: {},
  'hmm-off': { hmm: false },
  'hmm-off+bigrams': { hmm: false, oovBigrams: true },
  bigrams: { oovBigrams: true },
  'title2': { titleWeight: 2 },
  'hmm-off+title2': { hmm: false, titleWeight: 2 },
  'no-stem': { stem: false },
  'no-en-stopwords': { englishStopwords: false },
};
const K1_GRID = [0.9, 1.2, 1.5, 2.0];
const B_GRID = [0.4, 0.6, 0.75, 0.9];

interface Variant {
  analyzer: Partial<AnalyzerOptions>;
  bm25: Bm25Params;
}

/** `base`, an analyser variant, or `k1=K/b=B` (analyser defaults). */
function variantOf(name: string): Variant | null {
  const a = ANALYZER_VARIANTS[name];
  if (a) return { analyzer: a, bm25: FTS5_BM25 };
  const m = /^k1=(\d+(?:\.\d+)?)\/b=(\d+(?:\.\d+)?)$/.exec(name);
  return m ? { analyzer: {}, bm25: { k1: Number(m[1]), b: Number(m[2]) } } : null;
}

const gridNames = () => K1_GRID.flatMap((k1) => B_GRID.filter((b) => !(k1 === FTS5_BM25.k1 && b === FTS5_BM25.b)).map((b) => `k1=${k1}/b=${b}`));

const half = (id: string) => createHash('md5').update(id).digest()[0] & 1;
const config = loadConfig();

/** Every variant sharing one analyser setting, on one dataset: one store, one engine version per k1/b. */
function runGroup(ds: BeirDataset, analyzer: Partial<AnalyzerOptions>, params: Bm25Params[]): Map<string, PerQueryRecord>[] {
  setAnalyzerOptions({ ...ANALYZER_DEFAULTS, ...analyzer });
  const store = openEvalStore();
  try {
    const chunkOf = ingestPassages(store.db, ds.corpus, { titlePrefix: config.chunking.title_prefix });
    const passageOf = new Map([...chunkOf].map(([p, c]) => [c, p]));
    const cfg = config.retrieval.bm25;
    // The served leg's query terms (src/retrieval/hybrid.ts): they depend on the analysis and on
    // df, not on k1/b, so they are computed once per analyser setting.
    let terms: Map<string, string[]> | null = null;
    return params.map((p) => {
      const leg = buildBm25LegWith(store.db, store.dir, p);
      terms ??= new Map(
        ds.queries.map((q) => {
          const stats = leg.termStats(analyze(q.text, { maxTerms: config.limits.max_query_terms }));
          const picked = pickQueryTerms(stats.df, stats.docs, queryTermOptionsOf(cfg));
          return [q.id, picked];
        }),
      );
      const out = new Map<string, PerQueryRecord>();
      for (const q of ds.queries) {
        const ranked = leg.search(terms.get(q.id)!, 10).map((h) => passageOf.get(h.chunkId)!);
        out.set(q.id, perQueryRecord(q, { ranked, rel: ds.qrels.get(q.id) as Map<string, number> }, undefined, new Map()));
      }
      return out;
    });
  } finally {
    store.close();
  }
}

function metricsOf(recs: Map<string, PerQueryRecord>, h: 0 | 1 | null): MetricSummary {
  const xs = [...recs.values()].filter((r) => h === null || half(r.id) === h);
  const mean = (k: keyof PerQueryRecord['metrics']) => xs.reduce((s, r) => s + r.metrics[k], 0) / Math.max(1, xs.length);
  return { ...summarize([]), queries: xs.length, 'recall@1': mean('recall@1'), 'recall@5': mean('recall@5'), 'recall@10': mean('recall@10'), 'mrr@10': mean('mrr@10'), 'ndcg@10': mean('ndcg@10') };
}

function main(): void {
  const f = parseFlags(process.argv.slice(2));
  const sets = (f.get('datasets') ?? '').split(',').filter(Boolean);
  if (sets.length === 0) throw new Error('usage: node --import tsx bench/analysis.ts --datasets DIR[,DIR] [--variants a,b,k1=K/b=B,k1b-grid] [--limit N]');
  const names = (f.get('variants') ?? Object.keys(ANALYZER_VARIANTS).join(','))
    .split(',')
    .flatMap((n) => (n === 'k1b-grid' ? gridNames() : [n]))
    .filter((n, i, all) => all.indexOf(n) === i);
  for (const n of names) if (!variantOf(n)) throw new Error(`unknown variant ${n} (${Object.keys(ANALYZER_VARIANTS).join(', ')}, k1=K/b=B, k1b-grid)`);
  if (names[0] !== 'base') names.unshift('base');
  const limit = f.has('limit') ? Number(f.get('limit')) : undefined;
  const data = sets.map((d) => loadBeir(d, { limit }));
  console.error(`served BM25 leg: engine, query terms as retrieval.bm25 (max_query_terms ${config.retrieval.bm25.max_query_terms}); base ${describeBm25Params(FTS5_BM25)}`);
  const results = new Map<string, Map<string, PerQueryRecord>[]>(names.map((n) => [n, []]));
  // Variants that share an analyser setting share its store and query analysis.
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const key = JSON.stringify(variantOf(n)!.analyzer);
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  for (const members of groups.values()) {
    const t = performance.now();
    const analyzer = variantOf(members[0])!.analyzer;
    const params = members.map((n) => variantOf(n)!.bm25);
    for (const ds of data) runGroup(ds, analyzer, params).forEach((r, i) => results.get(members[i])!.push(r));
    console.error(`${members.join(', ')}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  setAnalyzerOptions(ANALYZER_DEFAULTS);

  const pad = (s: string, w: number) => s.padEnd(w);
  const f4 = (x: number) => x.toFixed(4);
  console.log(`\nfull sets (R@1 / nDCG@10; Δ vs base with paired-test p):`);
  for (const [i, ds] of data.entries()) {
    console.log(`  ${ds.name} (${ds.queries.length} queries)`);
    const base = results.get('base')![i];
    for (const n of names) {
      const r = results.get(n)![i];
      const m = metricsOf(r, null);
      const c1 = comparePerQuery(base, r, { metric: 'recall@1', permutations: 5000 });
      const cn = comparePerQuery(base, r, { metric: 'ndcg@10', permutations: 5000 });
      console.log(`    ${pad(n, 18)} ${f4(m['recall@1'])} / ${f4(m['ndcg@10'])}   Δ ${c1.diff >= 0 ? '+' : ''}${f4(c1.diff)} (p ${c1.p.toFixed(3)}) / ${cn.diff >= 0 ? '+' : ''}${f4(cn.diff)} (p ${cn.p.toFixed(3)})`);
    }
  }

  console.log('\nper half (Δ vs base, R@1 / nDCG@10): half 0 | half 1 — a change worth adopting helps both halves of both sets');
  for (const n of names) {
    if (n === 'base') continue;
    const cells = data.map((ds, i) => {
      const one = (h: 0 | 1) => {
        const m = metricsOf(results.get(n)![i], h);
        const b = metricsOf(results.get('base')![i], h);
        const d = (x: number) => `${x >= 0 ? '+' : ''}${f4(x)}`;
        return `${d(m['recall@1'] - b['recall@1'])} / ${d(m['ndcg@10'] - b['ndcg@10'])}`;
      };
      return `${ds.name} ${one(0)} | ${one(1)}`;
    });
    console.log(`  ${pad(n, 18)} ${cells.join('   ')}`);
  }

  console.log('\n2-fold cross-validation (choose on one half, report the other):');
  for (const train of [0, 1] as const) {
    const test = (1 - train) as 0 | 1;
    const baseTrain = data.map((_, i) => metricsOf(results.get('base')![i], train));
    let best = 'base';
    let bestScore = -Infinity;
    for (const n of names) {
      const ms = data.map((_, i) => metricsOf(results.get(n)![i], train));
      const noLoss = ms.every((m, i) => m['ndcg@10'] >= baseTrain[i]['ndcg@10'] && m['recall@1'] >= baseTrain[i]['recall@1']);
      const score = ms.reduce((s, m) => s + m['ndcg@10'], 0) / ms.length;
      if (noLoss && score > bestScore + 1e-12) {
        best = n;
        bestScore = score;
      }
    }
    const held = data.map((ds, i) => ({ ds, m: metricsOf(results.get(best)![i], test), b: metricsOf(results.get('base')![i], test) }));
    console.log(
      `  chosen on half ${train}: ${best}; held-out half ${test}: ` +
        held.map(({ ds, m, b }) => `${ds.name} R@1 ${f4(m['recall@1'])} (base ${f4(b['recall@1'])}) nDCG@10 ${f4(m['ndcg@10'])} (base ${f4(b['ndcg@10'])})`).join('; '),
    );
  }
}

main();

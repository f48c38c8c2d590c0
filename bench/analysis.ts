// Analysis choices for the BM25 leg, chosen with 2-fold cross-validation on the shared QA sets.
//
//   node --import tsx bench/analysis.ts --datasets ../shared/eval/cmrc2018,../shared/eval/squad-v1.1-dev
//        [--variants base,hmm-off,...] [--limit N]
//
// Each variant (src/text/analyzer.ts AnalyzerOptions) re-analyses the passages into a fresh eval
// store and runs every query through the BM25 leg (ftsQuery → searchBm25: on these sets the served
// retriever returns the leg's order; bench/beir.ts shows it). Queries are split into two halves by
// a hash of their id. Selection: on one half, the variant with the best mean nDCG@10 over the sets
// that no set's nDCG@10 or recall@1 falls below the baseline; reported: its figures on the OTHER
// half (held out), then the same with the halves swapped. Paired randomization tests (full set)
// say which differences are more than noise.
import { createHash } from 'node:crypto';
import { searchBm25 } from '../src/bm25/index.ts';
import { loadBeir, type BeirDataset } from '../src/eval/beir.ts';
import { comparePerQuery } from '../src/eval/compare.ts';
import { summarize, type MetricSummary } from '../src/eval/metrics.ts';
import { perQueryRecord, type PerQueryRecord } from '../src/eval/retrieval.ts';
import { ingestPassages, openEvalStore } from '../src/eval/store.ts';
import { ANALYZER_DEFAULTS, ftsQuery, setAnalyzerOptions, type AnalyzerOptions } from '../src/text/analyzer.ts';
import { parseFlags } from './fixtures/flags.ts';

const VARIANTS: Record<string, Partial<AnalyzerOptions>> = {
  base: {},
  'hmm-off': { hmm: false },
  'hmm-off+bigrams': { hmm: false, oovBigrams: true },
  bigrams: { oovBigrams: true },
  'title2': { titleWeight: 2 },
  'hmm-off+title2': { hmm: false, titleWeight: 2 },
  'no-stem': { stem: false },
  'no-en-stopwords': { englishStopwords: false },
};

const half = (id: string) => createHash('md5').update(id).digest()[0] & 1;

function run(ds: BeirDataset, opts: Partial<AnalyzerOptions>): Map<string, PerQueryRecord> {
  setAnalyzerOptions({ ...ANALYZER_DEFAULTS, ...opts });
  const store = openEvalStore();
  try {
    const chunkOf = ingestPassages(store.db, ds.corpus, { titlePrefix: true });
    const passageOf = new Map([...chunkOf].map(([p, c]) => [c, p]));
    const out = new Map<string, PerQueryRecord>();
    for (const q of ds.queries) {
      const expr = ftsQuery(q.text);
      const ranked = expr ? searchBm25(store.db, expr, 10).map((h) => passageOf.get(h.chunkId)!) : [];
      out.set(q.id, perQueryRecord(q, { ranked, rel: ds.qrels.get(q.id) as Map<string, number> }, undefined, new Map()));
    }
    return out;
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
  if (sets.length === 0) throw new Error('usage: node --import tsx bench/analysis.ts --datasets DIR[,DIR] [--variants a,b] [--limit N]');
  const names = (f.get('variants') ?? Object.keys(VARIANTS).join(',')).split(',');
  for (const n of names) if (!VARIANTS[n]) throw new Error(`unknown variant ${n} (${Object.keys(VARIANTS).join(', ')})`);
  if (names[0] !== 'base') names.unshift('base');
  const limit = f.has('limit') ? Number(f.get('limit')) : undefined;
  const data = sets.map((d) => loadBeir(d, { limit }));
  const results = new Map<string, Map<string, PerQueryRecord>[]>();
  for (const n of names) {
    const t = performance.now();
    results.set(n, data.map((ds) => run(ds, VARIANTS[n])));
    console.error(`${n}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
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

import { createHash } from 'node:crypto';
import type { Config } from '../config/index.ts';
import { RERANK_OFF } from '../config/sections/rerank.ts';
import { createEmbedder } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import type { FusionMethod } from '../retrieval/fusion.ts';
import { FUSION_DEFAULTS } from '../retrieval/hybrid.ts';
import { createServedRetriever } from '../retrieval/open.ts';
import type { Reranker } from '../rerank/types.ts';
import { createReranker } from '../rerank/factory.ts';
import type { DenseIndexReader } from '../vector/reader.ts';
import { loadBeir } from './beir.ts';
import { perQueryRecord, EvalError, type EvalMode, type PerQueryRecord } from './retrieval.ts';
import { buildBm25Leg, buildDenseIndex, ingestPassages, openEvalStore } from './store.ts';

// `kb eval fit`: fusion weights (and the reranker's head size) that follow a deployment's own
// judged questions. Every candidate setting runs the served retriever over a BEIR-layout set; the
// queries are split in two halves by a hash of their id, the setting is chosen on one half and
// its figures are reported on the other (then the halves swap), so the reported gain is not the
// optimism of choosing and measuring on the same queries. The recommendation is the setting
// chosen on all queries, stated together with both held-out results.

export interface FitSetting {
  /** The fusion of the two legs (retrieval.fusion). */
  fusion: FusionMethod;
  /** RRF weights (retrieval.weights; what rrf fusion uses). */
  weights: { dense: number; bm25: number };
  /** Convex fusion's dense weight (retrieval.convex.alpha; null with rrf fusion). */
  alpha: number | null;
  /** Reranker head size (null: no reranker configured). */
  head: number | null;
}

export interface FitOptions {
  dataset: string;
  config: Config;
  mode: EvalMode;
  /** Fusion whose weight is fitted (default: the configured retrieval.fusion). */
  fusion?: FusionMethod;
  /** RRF: dense-leg weights to try (the BM25 weight stays 1: RRF depends only on the ratio). */
  denseWeights: number[];
  /** Convex fusion: alphas (dense weight; BM25 gets 1 − alpha) to try. */
  alphas?: number[];
  /** Reranker head sizes to try (only with a configured reranker). */
  heads: number[];
  limit?: number;
  embedder?: Embedder;
  reranker?: Reranker | null;
  progress?: (line: string) => void;
}

export interface FitRow {
  setting: FitSetting;
  /** Mean nDCG@10 and recall@1 on half 0, half 1, and all queries. */
  halves: [{ ndcg: number; r1: number }, { ndcg: number; r1: number }];
  all: { ndcg: number; r1: number };
}

export interface FitResult {
  dataset: string;
  queries: number;
  rows: FitRow[];
  /** Per fold: chosen on half `train`, figures on the other half (held out), next to the configured setting there. */
  folds: Array<{ train: 0 | 1; chosen: FitSetting; heldOut: { ndcg: number; r1: number }; configuredHeldOut: { ndcg: number; r1: number } }>;
  /** Chosen on all queries. */
  recommended: FitSetting;
  configured: FitSetting;
}

/** The CV half of a query: the low bit of md5(query id) (also bench/fusion.ts's split). */
export const foldOf = (id: string): 0 | 1 => (createHash('md5').update(id).digest()[0] & 1) as 0 | 1;
const half = foldOf;
const key = (s: FitSetting) => `${s.fusion}/${s.fusion === 'convex' ? s.alpha : `${s.weights.dense}/${s.weights.bm25}`}/${s.head}`;

/** Query vectors shared across the candidate retrievers: each setting must not re-embed every query. */
function memoEmbedder(e: Embedder): Embedder {
  const cache = new Map<string, Float32Array>();
  return {
    get id() {
      return e.id;
    },
    get dimension() {
      return e.dimension;
    },
    load: () => e.load(),
    embedPassages: (t) => e.embedPassages(t),
    async embedQuery(text) {
      let v = cache.get(text);
      if (!v) cache.set(text, (v = await e.embedQuery(text)));
      return v;
    },
    dispose: () => e.dispose?.() ?? Promise.resolve(),
  };
}

export async function fitRetrieval(opts: FitOptions): Promise<FitResult> {
  const say = opts.progress ?? (() => undefined);
  const ds = loadBeir(opts.dataset, { limit: opts.limit });
  if (ds.queries.length < 2) throw new EvalError(`${ds.dir}: fitting needs at least 2 judged queries (two halves)`);
  const rr = opts.config.rerank ?? RERANK_OFF;
  const reranker = opts.reranker === undefined ? createReranker(opts.config) : opts.reranker;
  if (opts.mode !== 'hybrid' && !reranker) {
    throw new EvalError(`nothing to fit: fusion weights need --mode hybrid (both legs) and head sizes need a configured reranker (rerank.provider)`);
  }
  const cfg = opts.config.retrieval;
  const configuredFusion = cfg.fusion ?? FUSION_DEFAULTS.method;
  const configuredAlpha = cfg.convex?.alpha ?? FUSION_DEFAULTS.alpha;
  const fusion = opts.fusion ?? configuredFusion;
  if (fusion !== 'rrf' && fusion !== 'convex') throw new EvalError(`fusion must be rrf or convex, got ${String(fusion)}`);
  const denseWeights = opts.mode === 'hybrid' && fusion === 'rrf' ? [...new Set(opts.denseWeights)] : [cfg.weights.dense];
  const alphas = opts.mode === 'hybrid' && fusion === 'convex' ? [...new Set(opts.alphas ?? [])] : [configuredAlpha];
  const heads = reranker ? [...new Set(opts.heads)] : [null];
  if (denseWeights.some((w) => !(w >= 0)) || heads.some((h) => h !== null && !(Number.isInteger(h) && h > 0))) throw new EvalError('weights must be ≥ 0 and head sizes positive integers');
  if (alphas.length === 0 || alphas.some((a) => !(a >= 0 && a <= 1))) throw new EvalError('convex fusion needs alphas in [0, 1] to try (--alphas)');

  let embedder: Embedder | null = null;
  if (opts.mode !== 'bm25') {
    const raw = opts.embedder ?? createEmbedder(opts.config);
    try {
      await raw.load();
    } catch (err) {
      throw new EvalError(`--mode ${opts.mode} needs the embedding model, which is unavailable: ${(err as Error).message}`, { cause: err });
    }
    embedder = memoEmbedder(raw);
  }
  if (reranker) {
    try {
      await reranker.load();
    } catch (err) {
      throw new EvalError(`the configured reranker is unavailable: ${(err as Error).message}`, { cause: err });
    }
  }
  const store = openEvalStore();
  let reader: DenseIndexReader | null = null;
  try {
    ingestPassages(store.db, ds.corpus, { titlePrefix: opts.config.chunking.title_prefix });
    if (embedder) reader = (await buildDenseIndex(store.db, store.dir, embedder, opts.config)).reader;
    const bm25 = buildBm25Leg(store.db, store.dir, opts.config);
    const configured: FitSetting = {
      fusion: configuredFusion,
      weights: { ...cfg.weights },
      alpha: configuredFusion === 'convex' ? configuredAlpha : null,
      head: reranker ? rr.head : null,
    };
    const settings: FitSetting[] = [];
    for (const head of heads) {
      if (fusion === 'convex') for (const alpha of alphas) settings.push({ fusion, weights: { ...cfg.weights }, alpha, head });
      else for (const dense of denseWeights) settings.push({ fusion, weights: { dense, bm25: opts.mode === 'hybrid' ? 1 : cfg.weights.bm25 }, alpha: null, head });
    }
    // The configured setting is always measured: "no change" must be one of the candidates.
    if (!settings.some((s) => key(s) === key(configured))) settings.push(configured);

    const runs = new Map<string, PerQueryRecord[]>();
    for (const s of settings) {
      const retrieval = { ...cfg, fusion: s.fusion, weights: s.weights, convex: { alpha: s.alpha ?? configuredAlpha } };
      const config = { ...opts.config, retrieval, rerank: { ...rr, head: s.head ?? rr.head } };
      const { retriever } = createServedRetriever(config, { db: store.db, dense: reader, embedder, reranker, bm25 });
      const recs: PerQueryRecord[] = [];
      for (const q of ds.queries) {
        const res = await retriever.retrieve({ query: q.text, topK: 10, groups: null, mode: opts.mode });
        if (res.degraded.length > 0) throw new EvalError(`query ${q.id}: retrieval degraded: ${res.degraded.join('; ')}`);
        recs.push(perQueryRecord(q, { ranked: res.hits.map((h) => h.externalId), rel: ds.qrels.get(q.id) as Map<string, number> }, undefined, new Map()));
      }
      runs.set(key(s), recs);
      say(`${settingName(s)}: done`);
    }
    const mean = (recs: PerQueryRecord[], h: 0 | 1 | null) => {
      const xs = recs.filter((r) => h === null || half(r.id) === h);
      const n = Math.max(1, xs.length);
      return { ndcg: xs.reduce((s, r) => s + r.metrics['ndcg@10'], 0) / n, r1: xs.reduce((s, r) => s + r.metrics['recall@1'], 0) / n };
    };
    const rows: FitRow[] = settings.map((s) => {
      const recs = runs.get(key(s))!;
      return { setting: s, halves: [mean(recs, 0), mean(recs, 1)], all: mean(recs, null) };
    });
    // Best by nDCG@10, then recall@1; ties keep the configured setting (no change without evidence).
    const choose = (score: (r: FitRow) => { ndcg: number; r1: number }) => {
      let best = rows.find((r) => key(r.setting) === key(configured))!;
      for (const r of rows) {
        const a = score(r);
        const b = score(best);
        if (a.ndcg > b.ndcg + 1e-12 || (Math.abs(a.ndcg - b.ndcg) <= 1e-12 && a.r1 > b.r1 + 1e-12)) best = r;
      }
      return best;
    };
    const configuredRow = rows.find((r) => key(r.setting) === key(configured))!;
    const folds = ([0, 1] as const).map((train) => {
      const chosen = choose((r) => r.halves[train]);
      const test = (1 - train) as 0 | 1;
      return { train, chosen: chosen.setting, heldOut: chosen.halves[test], configuredHeldOut: configuredRow.halves[test] };
    });
    return { dataset: ds.name, queries: ds.queries.length, rows, folds, recommended: choose((r) => r.all).setting, configured };
  } finally {
    reader?.stop();
    store.close();
    await embedder?.dispose?.();
    await reranker?.dispose?.();
  }
}

function settingName(s: FitSetting): string {
  const fusion = s.fusion === 'convex' ? `convex alpha ${s.alpha}` : `rrf dense ${s.weights.dense} / bm25 ${s.weights.bm25}`;
  return `${fusion}${s.head !== null ? `, head ${s.head}` : ''}`;
}

export function fitTable(r: FitResult): string {
  const f = (x: number) => x.toFixed(4);
  const name = settingName;
  const lines = [`${r.dataset}: ${r.queries} queries, ${r.rows.length} settings (nDCG@10 / recall@1 on half 0 | half 1 | all)`];
  for (const row of r.rows) {
    lines.push(`  ${name(row.setting).padEnd(34)} ${f(row.halves[0].ndcg)} / ${f(row.halves[0].r1)} | ${f(row.halves[1].ndcg)} / ${f(row.halves[1].r1)} | ${f(row.all.ndcg)} / ${f(row.all.r1)}`);
  }
  for (const fold of r.folds) {
    lines.push(
      `chosen on half ${fold.train}: ${name(fold.chosen)} → held-out half ${1 - fold.train}: nDCG@10 ${f(fold.heldOut.ndcg)}, recall@1 ${f(fold.heldOut.r1)} ` +
        `(configured setting there: ${f(fold.configuredHeldOut.ndcg)}, ${f(fold.configuredHeldOut.r1)})`,
    );
  }
  const same = r.folds.every((x) => key(x.chosen) === key(r.recommended));
  lines.push(`recommended (chosen on all queries): ${name(r.recommended)}${same ? '' : ' — the two halves chose differently: the difference is within noise; prefer the configured setting unless both held-out halves improve'}`);
  const s = r.recommended;
  lines.push(
    'config/local.yaml:',
    s.fusion === 'convex'
      ? `retrieval:\n  fusion: convex\n  convex:\n    alpha: ${s.alpha}`
      : `retrieval:\n  fusion: rrf\n  weights:\n    dense: ${s.weights.dense}\n    bm25: ${s.weights.bm25}`,
  );
  if (s.head !== null) lines.push(`rerank:\n  head: ${s.head}`);
  return lines.join('\n');
}

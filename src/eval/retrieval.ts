import type { Config } from '../config/index.ts';
import { createEmbedder } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import fs from 'node:fs';
import { createServedRetriever, describeServedRetriever } from '../retrieval/open.ts';
import type { Reranker } from '../rerank/types.ts';
import type { DenseIndexReader } from '../vector/reader.ts';
import { loadBeir } from './beir.ts';
import { mrrAt, ndcgAt, recallAt, summarize, type MetricSummary } from './metrics.ts';
import { buildBm25Leg, buildDenseIndex, ingestPassages, openEvalStore } from './store.ts';

// `kb eval retrieval`: builds a throw-away store from a BEIR-layout folder, runs every judged
// query through the served retriever (createServedRetriever: the code and settings /v1/retrieve
// runs — fusion stages, reranker — from the deployment's configuration) and reports the metrics,
// optionally one JSON line per query (--per-query) for `kb eval compare`.

export type EvalMode = 'bm25' | 'dense' | 'hybrid';

export class EvalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvalError';
  }
}

export interface RetrievalEvalOptions {
  dataset: string;
  mode: EvalMode;
  config: Config;
  limit?: number;
  /** Folder for the store (must be empty/new); default: a temporary folder, deleted afterwards. */
  workDir?: string;
  /** Embedder for dense/hybrid (default: the configured one). */
  embedder?: Embedder;
  /** Reranker (default: the configured one; null = off). */
  reranker?: Reranker | null;
  /** Write one JSON line per query here (PerQueryRecord). */
  perQueryFile?: string;
  /** Progress lines for a human (stderr in the CLI). */
  progress?: (line: string) => void;
}

/** One line of a --per-query file. Ranks are 1-based; null = not in the list. */
export interface PerQueryRecord {
  id: string;
  query: string;
  /** Relevant passage id → its rank in the returned top k. */
  relevant: Record<string, number | null>;
  /** The returned passage ids, best first. */
  top: string[];
  /** Per leg: relevant passage id → its rank in that leg's candidates (null: the leg did not return it; the leg is null when it did not run). */
  legs: { bm25: Record<string, number | null> | null; dense: Record<string, number | null> | null };
  /** Per-query metrics, as averaged in the summary. */
  metrics: Omit<MetricSummary, 'queries'>;
}

export interface RetrievalEvalResult extends MetricSummary {
  dataset: string;
  mode: EvalMode;
  /** Extra facts, not part of the --json line. */
  details: { passages: number; unjudged: number; seconds: number; queryMs: { mean: number; p95: number }; retriever: string };
}

const EVAL_K = 10;

export async function evaluateRetrieval(opts: RetrievalEvalOptions): Promise<RetrievalEvalResult> {
  const started = performance.now();
  const say = opts.progress ?? (() => undefined);
  const ds = loadBeir(opts.dataset, { limit: opts.limit });
  if (ds.queries.length === 0) throw new EvalError(`${ds.dir}: no query has a relevant passage in qrels.tsv`);
  say(`${ds.name}: ${ds.corpus.length} passages, ${ds.queries.length} judged queries${ds.unjudged ? ` (${ds.unjudged} without judgments skipped)` : ''}`);

  let embedder: Embedder | null = null;
  if (opts.mode !== 'bm25') {
    embedder = opts.embedder ?? createEmbedder(opts.config);
    try {
      await embedder.load();
    } catch (err) {
      throw new EvalError(`--mode ${opts.mode} needs the embedding model, which is unavailable: ${(err as Error).message}`, { cause: err });
    }
  }

  const store = openEvalStore(opts.workDir);
  let reader: DenseIndexReader | null = null;
  let perQuery: number | null = null;
  try {
    ingestPassages(store.db, ds.corpus, {
      titlePrefix: opts.config.chunking.title_prefix,
      onProgress: (done, total) => done === total && say(`indexed ${total} passages for BM25`),
    });
    if (embedder) {
      say(`embedding ${ds.corpus.length} passages with ${embedder.id} …`);
      reader = (await buildDenseIndex(store.db, store.dir, embedder, opts.config)).reader;
    }
    // The BM25 engine version with the configured k1/b, as the ingestion run builds it.
    const bm25 = buildBm25Leg(store.db, store.dir, opts.config);
    const { retriever, reranker } = createServedRetriever(opts.config, { db: store.db, dense: reader, embedder, reranker: opts.reranker, bm25 });
    if (reranker) {
      try {
        await reranker.load();
      } catch (err) {
        throw new EvalError(`the configured reranker is unavailable: ${(err as Error).message}`, { cause: err });
      }
    }
    const described = describeServedRetriever(opts.config, reranker);
    say(described);
    const passageOf = new Map<number, string>();
    for (const row of store.db.prepare('SELECT c.id, d.external_id FROM chunks c JOIN documents d ON d.id = c.document_id').all() as { id: number; external_id: string }[]) {
      passageOf.set(row.id, row.external_id);
    }
    if (opts.perQueryFile) perQuery = fs.openSync(opts.perQueryFile, 'w');
    const runs: { ranked: string[]; rel: Map<string, number> }[] = [];
    const latencies: number[] = [];
    for (const [i, q] of ds.queries.entries()) {
      const t = performance.now();
      const res = await retriever.retrieve({ query: q.text, topK: EVAL_K, groups: null, mode: opts.mode, explainLegs: perQuery !== null });
      latencies.push(performance.now() - t);
      // A degraded leg (or a skipped reranker) would silently measure something else than what is served.
      if (res.degraded.length > 0) throw new EvalError(`query ${q.id}: retrieval degraded: ${res.degraded.join('; ')}`);
      const run = { ranked: res.hits.map((h) => h.externalId), rel: ds.qrels.get(q.id) as Map<string, number> };
      runs.push(run);
      if (perQuery !== null) fs.writeSync(perQuery, `${JSON.stringify(perQueryRecord(q, run, res.legs, passageOf))}\n`);
      if ((i + 1) % 1000 === 0) say(`${i + 1}/${ds.queries.length} queries`);
    }
    latencies.sort((a, b) => a - b);
    const mean = latencies.reduce((s, x) => s + x, 0) / latencies.length;
    const p95 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))];
    return {
      dataset: ds.name,
      mode: opts.mode,
      ...summarize(runs),
      details: {
        passages: ds.corpus.length,
        unjudged: ds.unjudged,
        seconds: (performance.now() - started) / 1000,
        queryMs: { mean, p95 },
        retriever: described,
      },
    };
  } finally {
    if (perQuery !== null) fs.closeSync(perQuery);
    reader?.stop();
    store.close();
    await embedder?.dispose?.();
  }
}

/** The --per-query line of one query (also built by bench/beir.ts for the peer). */
export function perQueryRecord(
  q: { id: string; text: string },
  run: { ranked: string[]; rel: Map<string, number> },
  legs: { dense: number[] | null; bm25: number[] | null } | undefined,
  passageOf: ReadonlyMap<number, string>,
): PerQueryRecord {
  const relevantIds = [...run.rel.entries()].filter(([, g]) => g > 0).map(([id]) => id);
  const ranksIn = (ids: readonly string[]) => {
    const at = new Map<string, number>();
    ids.forEach((id, i) => at.has(id) || at.set(id, i + 1));
    return Object.fromEntries(relevantIds.map((id) => [id, at.get(id) ?? null]));
  };
  const legRanks = (chunkIds: number[] | null | undefined) => (chunkIds ? ranksIn(chunkIds.map((c) => passageOf.get(c) ?? `chunk:${c}`)) : null);
  return {
    id: q.id,
    query: q.text,
    relevant: ranksIn(run.ranked),
    top: run.ranked,
    legs: { bm25: legRanks(legs?.bm25), dense: legRanks(legs?.dense) },
    metrics: {
      'recall@1': recallAt(run.ranked, run.rel, 1),
      'recall@5': recallAt(run.ranked, run.rel, 5),
      'recall@10': recallAt(run.ranked, run.rel, 10),
      'mrr@10': mrrAt(run.ranked, run.rel, 10),
      'ndcg@10': ndcgAt(run.ranked, run.rel, 10),
    },
  };
}

/** The --json line: exactly these keys, in this order. */
export function evalJson(r: RetrievalEvalResult): string {
  return JSON.stringify({
    dataset: r.dataset,
    mode: r.mode,
    queries: r.queries,
    'recall@1': r['recall@1'],
    'recall@5': r['recall@5'],
    'recall@10': r['recall@10'],
    'mrr@10': r['mrr@10'],
    'ndcg@10': r['ndcg@10'],
  });
}

export function evalTable(r: RetrievalEvalResult): string {
  const f = (x: number) => x.toFixed(4);
  return [
    `dataset   ${r.dataset} (${r.details.passages} passages)`,
    `mode      ${r.mode}`,
    `retriever ${r.details.retriever}`,
    `queries   ${r.queries}`,
    `recall@1  ${f(r['recall@1'])}`,
    `recall@5  ${f(r['recall@5'])}`,
    `recall@10 ${f(r['recall@10'])}`,
    `mrr@10    ${f(r['mrr@10'])}`,
    `ndcg@10   ${f(r['ndcg@10'])}`,
    `latency   mean ${r.details.queryMs.mean.toFixed(2)} ms, p95 ${r.details.queryMs.p95.toFixed(2)} ms per query`,
    `took      ${r.details.seconds.toFixed(1)} s`,
  ].join('\n');
}

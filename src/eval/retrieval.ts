import type { Config } from '../config/index.ts';
import { createEmbedder } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import { createHybridRetriever } from '../retrieval/hybrid.ts';
import type { DenseIndexReader } from '../vector/reader.ts';
import { loadBeir } from './beir.ts';
import { summarize, type MetricSummary } from './metrics.ts';
import { buildDenseIndex, ingestPassages, openEvalStore } from './store.ts';

// `kb eval retrieval`: builds a throw-away store from a BEIR-layout folder, runs every judged
// query through the product retriever (config.retrieval as configured) and reports the metrics.

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
  /** Progress lines for a human (stderr in the CLI). */
  progress?: (line: string) => void;
}

export interface RetrievalEvalResult extends MetricSummary {
  dataset: string;
  mode: EvalMode;
  /** Extra facts, not part of the --json line. */
  details: { passages: number; unjudged: number; seconds: number; queryMs: { mean: number; p95: number } };
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
  try {
    ingestPassages(store.db, ds.corpus, {
      titlePrefix: opts.config.chunking.title_prefix,
      onProgress: (done, total) => done === total && say(`indexed ${total} passages for BM25`),
    });
    if (embedder) {
      say(`embedding ${ds.corpus.length} passages with ${embedder.id} …`);
      reader = (await buildDenseIndex(store.db, store.dir, embedder, opts.config)).reader;
    }
    const retriever = createHybridRetriever({ db: store.db, dense: reader, embedder, config: opts.config });
    const runs: { ranked: string[]; rel: Map<string, number> }[] = [];
    const latencies: number[] = [];
    for (const [i, q] of ds.queries.entries()) {
      const t = performance.now();
      const res = await retriever.retrieve({ query: q.text, topK: EVAL_K, groups: null, mode: opts.mode });
      latencies.push(performance.now() - t);
      // A degraded leg would silently measure something else than the requested mode.
      if (res.degraded.length > 0) throw new EvalError(`query ${q.id}: retrieval degraded: ${res.degraded.join('; ')}`);
      runs.push({ ranked: res.hits.map((h) => h.externalId), rel: ds.qrels.get(q.id) as Map<string, number> });
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
      },
    };
  } finally {
    reader?.stop();
    store.close();
    await embedder?.dispose?.();
  }
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

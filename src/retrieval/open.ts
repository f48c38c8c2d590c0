import type { Config } from '../config/index.ts';
import { RERANK_OFF } from '../config/sections/rerank.ts';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { createEmbedder, type CreateEmbedderOptions } from '../embeddings/factory.ts';
import type { Embedder } from '../embeddings/types.ts';
import { createReranker, lazyReranker } from '../rerank/factory.ts';
import type { Reranker } from '../rerank/types.ts';
import { DenseIndexReader } from '../vector/reader.ts';
import { createHybridRetriever, FUSION_DEFAULTS, type HybridRetriever, type HybridRetrieverOptions } from './hybrid.ts';
import { Bm25Leg } from '../bm25/leg.ts';
import { bm25ParamsOf, describeBm25Params } from '../bm25/scoring.ts';

export interface OpenedRetriever {
  retriever: HybridRetriever;
  reader: DenseIndexReader;
  bm25: Bm25Leg;
  /** The query embedder (not loaded yet: the retriever loads it on first use). */
  embedder: Embedder;
  close(): Promise<void>;
}

export interface ServedRetrieverParts {
  db: DB;
  dense: HybridRetrieverOptions['dense'];
  embedder: Embedder | null;
  /** The reranker (default: the configured one; null = off). */
  reranker?: Reranker | null;
  /** The BM25 engine leg (default: FTS5, which returns the same top-k and scores at k1 1.2 / b 0.75 — src/bm25 property tests; other k1/b need the engine: evalBm25Leg). */
  bm25?: Bm25Leg;
}

/**
 * THE retriever that `/v1/retrieve`, chat, `kb search` and `kb eval retrieval` run: the hybrid
 * retriever with `config.retrieval` and the `rerank` stage as configured. Everything that measures
 * or serves retrieval builds it here, so an evaluation can never measure a different pipeline.
 */
export function createServedRetriever(config: Pick<Config, 'retrieval' | 'data_dir'> & Partial<Config>, parts: ServedRetrieverParts): { retriever: HybridRetriever; reranker: Reranker | null } {
  const rr = config.rerank ?? RERANK_OFF;
  const raw = parts.reranker === undefined ? createReranker({ ...config, rerank: rr }) : parts.reranker;
  const reranker = raw ? lazyReranker(raw) : null;
  const retriever = createHybridRetriever({
    db: parts.db,
    dense: parts.dense,
    embedder: parts.embedder,
    config,
    bm25: parts.bm25,
    rerank: reranker ? { reranker, head: rr.head, timeoutMs: rr.timeout_ms } : null,
  });
  return { retriever, reranker };
}

/** The fusion part of describeServedRetriever's line. */
export function describeFusion(r: Config['retrieval']): string {
  const method = r.fusion ?? FUSION_DEFAULTS.method;
  return method === 'convex'
    ? `fusion convex (alpha ${r.convex?.alpha ?? FUSION_DEFAULTS.alpha} dense / ${+(1 - (r.convex?.alpha ?? FUSION_DEFAULTS.alpha)).toFixed(6)} bm25)`
    : `fusion rrf (rrf_k ${r.rrf_k}, weights dense ${r.weights.dense} / bm25 ${r.weights.bm25})`;
}

/** One line saying which pipeline runs with which settings (printed by `kb eval retrieval`). */
export function describeServedRetriever(config: Pick<Config, 'retrieval'> & Partial<Config>, reranker: Reranker | null): string {
  const r = config.retrieval;
  const rr = config.rerank ?? RERANK_OFF;
  return (
    `served retriever (same code and settings as /v1/retrieve): bm25 ${describeBm25Params(bm25ParamsOf(r.bm25))}, ${describeFusion(r)}, ` +
    `recency ${r.recency.enabled ? `${r.recency.apply ?? 'time_sensitive'} (weight ${r.recency.weight}, kinds ${r.recency.kinds.join('/')})` : 'off'}, ` +
    `mmr ${r.mmr.enabled ? `λ ${r.mmr.lambda}, min_similarity ${r.mmr.min_similarity ?? 0.5}` : 'off'}, max_chunks_per_doc ${r.max_chunks_per_doc}, ` +
    `exact_match ${r.exact_match?.enabled === false ? 'off' : 'on'}, rerank ${reranker ? `${reranker.id} head ${rr.head} budget ${rr.timeout_ms} ms` : 'off'}`
  );
}

/**
 * The production retriever over a store: the dense reader (hot-swaps to a newly activated
 * index version) + the configured query embedder + the BM25 engine leg (+ the configured
 * reranker), shared by `kb serve` (in each retrieval worker) and `kb search`.
 * `embedder`: a shared query embedder (replicas keep one model across snapshot generations; the
 * caller disposes it). `embedderOptions`: how to build our own (worker threads size ONNX threads).
 */
export async function openRetriever(
  config: Config,
  db: DB,
  log: Logger = silentLogger,
  opts: { watch?: boolean; embedder?: Embedder; embedderOptions?: CreateEmbedderOptions; warm?: boolean } = {},
): Promise<OpenedRetriever> {
  const reader = new DenseIndexReader({ db, dataDir: config.data_dir, efSearch: config.index.ef_search, reloadIntervalMs: config.index.reload_interval_ms, log });
  if (opts.watch === false) await reader.maybeReload({ force: true });
  else await reader.start();
  const embedder = opts.embedder ?? createEmbedder(config, opts.embedderOptions);
  const ownEmbedder = !opts.embedder;
  // A watching retriever (a server, each retrieval worker) loads new BM25 versions in the
  // background like the dense reader, serving the previous one meanwhile.
  const bm25 = new Bm25Leg({ db, dataDir: config.data_dir, log, params: bm25ParamsOf(config.retrieval.bm25), background: opts.watch !== false });
  bm25.reload(); // load (and checksum) the active BM25 version now rather than on the first query
  const { retriever, reranker } = createServedRetriever(config, { db, dense: reader, embedder, bm25 });
  // A server loads the filter catalog now: the first request with a filter or an API key's groups
  // would otherwise pay for it (≈ 1.5 s per 100k chunks here). One-shot callers (kb search) skip it.
  if (opts.warm && reader.status().version !== null) retriever.catalog.refreshIfStale();
  // Start loading the reranker now, so the first question does not spend its budget on it.
  reranker?.load().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'reranker unavailable; retrieval keeps the fused order'));
  return {
    retriever,
    reader,
    bm25,
    embedder,
    async close() {
      reader.stop();
      if (ownEmbedder) await embedder.dispose?.();
      await reranker?.dispose?.();
    },
  };
}

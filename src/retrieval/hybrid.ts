import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DocumentKind } from '../config/index.ts';
import type { LimitsConfig } from '../config/sections/limits.ts';
import type { RetrievalConfig } from '../config/sections/retrieval.ts';
import type { Embedder } from '../embeddings/types.ts';
import { Bm25Leg } from '../bm25/leg.ts';
import type { DB } from '../store/index.ts';
import { analyze } from '../text/analyzer.ts';
import { pickQueryTerms, queryTermOptionsOf } from '../bm25/query-terms.ts';
import { bm25ParamsOf } from '../bm25/scoring.ts';
import { LruCache } from '../util/lru.ts';
import type { DenseIndexReader } from '../vector/reader.ts';
import { ChunkCatalog } from './catalog.ts';
import { exactDenseSearch } from './exact.ts';
import { compileFilter, planDenseFilter, type CompiledFilter } from './filters.ts';
import { exactMatch, exactQuery, passageForms, type PassageForms } from './exact-match.ts';
import { compareFused, fuse, recencyMultiplier, rerank, similarityTokens, type Candidate, type FusionMethod, type LegHit } from './fusion.ts';
import { isTimeSensitive } from './time-sensitive.ts';
import type { Reranker } from '../rerank/types.ts';
import type { RankingInfo, RetrievalHit, RetrieveRequest, RetrieveResult, Retriever } from './types.ts';
import { cachedStatement } from '../store/statements.ts';

// Hybrid retriever: BM25 (src/bm25 engine, FTS5 fallback) and dense (HNSW) legs, each filtered inside its own search,
// fused (retrieval.fusion: a convex combination of normalised scores, or weighted RRF), hydrated
// from SQLite, then ordered in stages (fusion.ts: recency for time-sensitive questions, the
// optional cross-encoder reranker, exact title/phrase matches first, per-document cap, MMR over
// near-duplicates), each hit's breakdown saying which stage moved it.

export class RetrievalRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetrievalRequestError';
  }
}

export interface HybridRetrieverOptions {
  db: DB;
  /** The dense index reader (null: the dense leg is off and `degraded` says so). */
  dense: Pick<DenseIndexReader, 'search' | 'status'> | null;
  /** Query embedder (null or failing to load: the dense leg is skipped with the reason). */
  embedder: Embedder | null;
  /** The app config (`retrieval`, and `limits.max_query_terms` when given). */
  config: { retrieval: RetrievalConfig; limits?: Pick<LimitsConfig, 'max_query_terms'> };
  /** The BM25 leg (default: FTS5 only, no engine files — tests and callers without a data_dir). */
  bm25?: Bm25Leg;
  /** Shared catalog (built lazily when a filtered dense search first needs it). */
  catalog?: ChunkCatalog;
  /** Clock for the recency preference (tests). */
  now?: () => number;
  /** Cross-encoder reranking of the fused head (null/absent: off). */
  rerank?: RerankStageOptions | null;
}

export interface RerankStageOptions {
  reranker: Reranker;
  /** Rerank the best `head` fused candidates. */
  head: number;
  /** Give up after this long (ms) and keep the fused order, saying why. */
  timeoutMs: number;
}

// Defaults of the optional retrieval keys (config/default.yaml documents them).
export const FUSION_DEFAULTS: { method: FusionMethod; alpha: number } = { method: 'convex', alpha: 0.7 };
const DEFAULT_MMR_MIN_SIMILARITY = 0.5;
const DEFAULT_EXACT = { enabled: true, min_phrase_chars: 8 };

export interface HybridRetriever extends Retriever {
  readonly catalog: ChunkCatalog;
}

const MAX_TOP_K = 1000;
// Post-filter an unfiltered HNSW search when at least this share of the indexed chunks is allowed.
const POSTFILTER_MIN_FRACTION = 0.5;
const HYDRATE_MIN = 60;
const HYDRATE_PER_K = 6;
// After a failed embedder load, wait this long before trying again (the model may be copied in).
const LOAD_RETRY_MS = 30_000;

const ms = (from: number) => Math.round((performance.now() - from) * 1000) / 1000;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

interface HydratedRow {
  id: number;
  document_id: number;
  text: string;
  page: number | null;
  source: string;
  external_id: string;
  kind: DocumentKind;
  title: string;
  url: string | null;
  published_at: string | null;
  tags: string;
}

export function createHybridRetriever(opts: HybridRetrieverOptions): HybridRetriever {
  const { db, dense, embedder } = opts;
  const cfg = opts.config.retrieval;
  const catalog = opts.catalog ?? new ChunkCatalog(db);
  const bm25 = opts.bm25 ?? new Bm25Leg({ db, dataDir: null, params: bm25ParamsOf(cfg.bm25) });
  const now = opts.now ?? Date.now;
  const queryTermOptions = queryTermOptionsOf(cfg.bm25);
  // Repeated questions (retries, popular queries, chat follow-ups) skip the embedding model.
  const queryVectors = new LruCache<string, Float32Array>(cfg.query_cache_size);
  // Dense-filter plans (document mask + allowed set) per filter/ACL spec, valid for one catalog load.
  const plans = new LruCache<string, ReturnType<typeof planDenseFilter>>(64);
  // Normal forms of chunk title + text for the exact-match stage, by chunk id (a chunk's text
  // never changes: an edited document gets new chunks; the title is checked on every hit).
  const normalForms = new LruCache<number, PassageForms>(5_000);
  // MMR's token sets per chunk id, for the same reason.
  const mmrTokens = new LruCache<number, Float64Array>(5_000);
  const tokensOf = (chunkId: number, text: string) => {
    let t = mmrTokens.get(chunkId);
    if (!t) mmrTokens.set(chunkId, (t = similarityTokens(text)));
    return t;
  };
  let plansGeneration = -1;

  let loadState: { promise: Promise<void>; failedAt: number | null } | null = null;
  const ensureLoaded = (e: Embedder): Promise<void> => {
    if (!loadState || (loadState.failedAt !== null && Date.now() - loadState.failedAt > LOAD_RETRY_MS)) {
      const state: { promise: Promise<void>; failedAt: number | null } = { promise: Promise.resolve(), failedAt: null };
      state.promise = e.load().catch((err: unknown) => {
        state.failedAt = Date.now();
        throw err;
      });
      loadState = state;
    }
    return loadState.promise;
  };

  /** Why the dense leg cannot run, or null when it can. */
  function denseUnavailable(): string | null {
    if (!dense) return 'no vector index is configured';
    if (!embedder) return 'no embedding model is configured';
    const st = dense.status();
    if (st.version === null) {
      return st.error
        ? `vector index version ${st.error.version} failed to load: ${st.error.message}`
        : 'no vector index is loaded yet (build one with the ingest job)';
    }
    if (st.model !== embedder.id) return `vector index was built with model "${st.model}" but the query embedder is "${embedder.id}"`;
    return null;
  }

  function denseSearch(vec: Float32Array, k: number, filter: CompiledFilter, timings: Record<string, number>): LegHit[] {
    const reader = dense!;
    const st = reader.status();
    if (st.dim !== null && vec.length !== st.dim) {
      throw new Error(`query vector has ${vec.length} dimensions but the index has ${st.dim}`);
    }
    const toLeg = (hits: { label: number; score: number }[]) => hits.map((h) => ({ chunkId: h.label, score: h.score }));
    if (!filter.restricted) return toLeg(reader.search(vec, k));
    const tc = performance.now();
    if (catalog.refreshIfStale()) timings.catalog = ms(tc);
    if (plansGeneration !== catalog.generation) {
      plans.clear();
      plansGeneration = catalog.generation;
    }
    const planKey = JSON.stringify(filter.spec);
    let plan = plans.get(planKey);
    if (!plan) {
      plan = planDenseFilter(catalog, filter, { maxFraction: cfg.exact_search.max_fraction, maxChunks: cfg.exact_search.max_chunks });
      plans.set(planKey, plan);
    }
    if (plan.allowed === 0) return [];
    if (plan.exactIds) {
      const exact = exactDenseSearch(db, st.model!, vec, plan.exactIds, k);
      // Incomplete cache → the filtered HNSW walk, which sees every indexed vector.
      if (exact.missing === 0) return exact.hits;
    }
    // A filter that lets most chunks through (an API key's groups, typically): hnswlib calls the
    // JS predicate for every node the filtered walk visits, which costs more than the walk
    // itself, so search unfiltered for enough extra hits and drop the disallowed ones. When too
    // few survive (the query's neighbourhood is mostly hidden), the filtered walk decides.
    const fraction = plan.allowed / Math.max(1, catalog.indexedSize);
    if (fraction >= POSTFILTER_MIN_FRACTION) {
      const kept = reader.search(vec, Math.ceil((k / fraction) * 1.25) + 10).filter((h) => plan.predicate(h.label));
      if (kept.length >= k) return toLeg(kept.slice(0, k));
    }
    return toLeg(reader.search(vec, k, plan.predicate));
  }

  function hydrate(ids: number[], filter: CompiledFilter): HydratedRow[] {
    if (ids.length === 0) return [];
    // The request's filter is re-applied here: the catalog behind the dense predicate can lag a
    // running ingest by a few seconds, and ACL must hold even then. Liveness likewise.
    const sql = `
      SELECT c.id, c.document_id, c.text, c.page, d.source, d.external_id, d.kind, d.title, d.url, d.published_at, d.tags
        FROM json_each(?) j
        JOIN chunks c ON c.id = j.value
        JOIN documents d ON d.id = c.document_id
       WHERE c.retired_at IS NULL AND d.deleted_at IS NULL ${filter.sql ? `AND (${filter.sql.sql})` : ''}`;
    // (No chunk vectors: MMR compares texts, a similarity scale that does not depend on the model.)
    const params: unknown[] = [JSON.stringify(ids)];
    if (filter.sql) params.push(...filter.sql.params);
    return cachedStatement(db, sql).all(...params) as HydratedRow[];
  }

  function formsOf(r: HydratedRow): PassageForms {
    let f = normalForms.get(r.id);
    if (f === undefined || f.title.length > r.title.length) normalForms.set(r.id, (f = passageForms(r.title, r.text)));
    return f;
  }

  async function retrieve(req: RetrieveRequest): Promise<RetrieveResult> {
    const t0 = performance.now();
    if (typeof req.query !== 'string' || req.query.trim() === '') throw new RetrievalRequestError('query must be a non-empty string');
    if (!Number.isInteger(req.topK) || req.topK < 1 || req.topK > MAX_TOP_K) {
      throw new RetrievalRequestError(`topK must be an integer between 1 and ${MAX_TOP_K}, got ${req.topK}`);
    }
    if (req.groups !== null && (!Array.isArray(req.groups) || req.groups.some((g) => typeof g !== 'string'))) {
      throw new RetrievalRequestError('groups must be null or an array of strings');
    }
    const mode = req.mode ?? 'hybrid';
    if (mode !== 'hybrid' && mode !== 'dense' && mode !== 'bm25') throw new RetrievalRequestError(`mode must be hybrid, dense or bm25, got ${String(mode)}`);
    const filter = compileFilter(req.filters, req.groups);
    const query = req.query.trim();
    const pool = Math.max(cfg.candidates, req.topK);
    const timings: Record<string, number> = {};
    const degraded: string[] = [];

    // Dense leg, part 1: start the query embedding so it overlaps the BM25 query below.
    let embedding: Promise<Float32Array> | null = null;
    if (mode !== 'bm25') {
      const why = denseUnavailable();
      if (why) degraded.push(`dense: ${why}`);
      else {
        const fb = dense!.status().fallback;
        if (fb) {
          degraded.push(
            `dense: the active vector index version ${fb.activeVersion} failed verification (${fb.reason}); serving version ${fb.servingVersion}, so chunks indexed since are found by BM25 only — run \`kb index rebuild\``,
          );
        }
        const te = performance.now();
        const e = embedder!;
        const cached = queryVectors.get(`${e.id}\n${query}`);
        embedding = cached
          ? Promise.resolve(cached)
          : ensureLoaded(e)
              .then(() => e.embedQuery(query))
              .then((v) => {
                queryVectors.set(`${e.id}\n${query}`, v);
                return v;
              })
          .finally(() => {
            timings.embed = ms(te);
          });
        embedding.catch(() => undefined); // handled where awaited; avoid an unhandled rejection meanwhile
        // The embedding starts in promise callbacks (and the HTTP client's own awaits), which run
        // only once this function yields: without yielding here the request to an embeddings
        // server (or the ONNX run) would leave after the BM25 query below, and the two would run
        // one after the other, not side by side (measured: 8 ms of BM25 work + a 10 ms embeddings
        // server = 22 ms unyielded, 13 ms with it).
        if (!cached && mode === 'hybrid') await yieldToEventLoop();
      }
    }

    let bm25Hits: LegHit[] | null = null;
    if (mode !== 'dense') {
      const tb = performance.now();
      try {
        // Analysis stops at limits.max_query_terms: a long query costs bounded jieba/stemmer work and term lookups.
        const stats = bm25.termStats(analyze(query, { maxTerms: opts.config.limits?.max_query_terms }));
        const terms = pickQueryTerms(stats.df, stats.docs, queryTermOptions);
        // Filters and ACL are applied inside the leg's traversal (exact: k allowed hits when k match).
        bm25Hits = bm25.search(terms, pool, filter.restricted ? filter.spec : null);
        // Scores from other k1/b than configured (a stale file, or FTS5): served, but said.
        const issue = bm25.paramsIssue();
        if (issue) degraded.push(`bm25: ${issue}`);
      } catch (err) {
        degraded.push(`bm25: ${message(err)}`);
      }
      timings.bm25 = ms(tb);
    }

    let denseHits: LegHit[] | null = null;
    if (embedding) {
      let vec: Float32Array | null = null;
      try {
        vec = await embedding;
      } catch (err) {
        degraded.push(`dense: embedding model unavailable: ${message(err)}`);
      }
      if (vec) {
        const td = performance.now();
        try {
          denseHits = denseSearch(vec, pool, filter, timings);
        } catch (err) {
          degraded.push(`dense: ${message(err)}`);
        }
        timings.dense = ms(td);
      }
    }

    const tf = performance.now();
    const fused = fuse(
      { dense: denseHits, bm25: bm25Hits },
      { method: cfg.fusion ?? FUSION_DEFAULTS.method, weights: cfg.weights, rrfK: cfg.rrf_k, alpha: cfg.convex?.alpha ?? FUSION_DEFAULTS.alpha },
    );
    timings.fuse = ms(tf);

    const th = performance.now();
    // Only the head of the fused list can reach the top k after recency (a ≤ 1/(1 - weight)
    // swing) and MMR (which looks at the top max(30, 3k)); hydrating the tail is wasted work.
    const head = [...fused.entries()]
      .map(([chunkId, f]) => ({ chunkId, fused: f }))
      .sort(compareFused)
      .slice(0, Math.max(HYDRATE_MIN, HYDRATE_PER_K * req.topK));
    const rows = hydrate(head.map((c) => c.chunkId), filter);
    timings.hydrate = ms(th);

    const tr = performance.now();
    const byId = new Map<number, HydratedRow>();
    const exactCfg = cfg.exact_match ?? DEFAULT_EXACT;
    const exactQ = exactCfg.enabled ? exactQuery(query, exactCfg.min_phrase_chars) : null;
    const candidates: Candidate[] = rows.map((r) => {
      byId.set(r.id, r);
      const published = r.published_at ? Date.parse(r.published_at) : NaN;
      return {
        chunkId: r.id,
        docId: r.document_id,
        kind: r.kind,
        publishedMs: Number.isFinite(published) ? published : null,
        text: r.text,
        fused: fused.get(r.id)!,
        exact: exactQ ? exactMatch(exactQ, formsOf(r)) : null,
      };
    });
    const recencyOpts = { enabled: cfg.recency.enabled, kinds: cfg.recency.kinds, halfLifeDays: cfg.recency.half_life_days, weight: cfg.recency.weight };
    const timeSensitive = cfg.recency.enabled && ((cfg.recency.apply ?? 'time_sensitive') === 'always' || isTimeSensitive(query));
    const nowMs = now();
    const ranking: RankingInfo = {
      recency: !cfg.recency.enabled || cfg.recency.weight === 0 ? 'disabled' : timeSensitive ? 'applied' : 'not time-sensitive',
      rerank: 'off',
    };
    timings.order = ms(tr);
    if (opts.rerank && candidates.length > 0) {
      const tk = performance.now();
      const head = headForRerank(candidates, opts.rerank.head, (c) => c.fused.score * (timeSensitive ? recencyMultiplier(c.kind, c.publishedMs, nowMs, recencyOpts) : 1));
      try {
        const scores = await scoreWithin(opts.rerank, query, head.map((c) => passageText(byId.get(c.chunkId)!)));
        head.forEach((c, i) => (c.rerank = scores[i]));
        ranking.rerank = 'applied';
      } catch (err) {
        ranking.rerank = `skipped: ${message(err)}`;
        degraded.push(`rerank: ${message(err)}`);
      }
      timings.rerank_model = ms(tk);
    }
    const to = performance.now();
    const ranked = rerank(candidates, {
      topK: req.topK,
      recency: recencyOpts,
      timeSensitive,
      mmr: { enabled: cfg.mmr.enabled, lambda: cfg.mmr.lambda, minSimilarity: cfg.mmr.min_similarity ?? DEFAULT_MMR_MIN_SIMILARITY },
      maxChunksPerDoc: cfg.max_chunks_per_doc,
      nowMs,
      tokensOf,
    });
    const hits: RetrievalHit[] = ranked.map((c) => {
      const r = byId.get(c.chunkId)!;
      return {
        chunkId: r.id,
        docId: r.document_id,
        source: r.source,
        externalId: r.external_id,
        page: r.page,
        kind: r.kind,
        title: r.title,
        url: r.url,
        publishedAt: r.published_at,
        tags: parseTags(r.tags),
        text: r.text,
        score: c.score,
      };
    });
    timings.order = (timings.order ?? 0) + ms(to);
    timings.total = ms(t0);
    const result: RetrieveResult = { hits, timings, degraded, ranking };
    if (req.explainLegs) {
      result.legs = { dense: denseHits?.map((h) => h.chunkId) ?? null, bm25: bm25Hits?.map((h) => h.chunkId) ?? null };
      result.legHits = { dense: denseHits, bm25: bm25Hits };
    }
    return result;
  }

  return { retrieve, catalog };
}

/** The best `n` candidates by `score` (ties: chunk id), the reranker's input. */
function headForRerank(candidates: Candidate[], n: number, score: (c: Candidate) => number): Candidate[] {
  return candidates
    .map((c) => ({ c, s: score(c) }))
    .sort((a, b) => b.s - a.s || compareFused(a.c, b.c))
    .slice(0, n)
    .map((x) => x.c);
}

/** What a cross-encoder reads: the title (when any) and the chunk text, like the BM25 terms. */
function passageText(r: HydratedRow): string {
  return r.title ? `${r.title}\n${r.text}` : r.text;
}

/** Scores with the reranker, aborting after the latency budget. */
async function scoreWithin(stage: RerankStageOptions, query: string, passages: string[]): Promise<number[]> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new Error(`${stage.reranker.id} exceeded the ${stage.timeoutMs} ms budget`));
    }, stage.timeoutMs);
  });
  try {
    const scores = await Promise.race([stage.reranker.score(query, passages, ac.signal), timeout]);
    if (scores.length !== passages.length || scores.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new Error(`${stage.reranker.id} returned ${scores.length} scores for ${passages.length} passages (or a non-finite score)`);
    }
    return scores;
  } finally {
    clearTimeout(timer);
  }
}

function parseTags(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

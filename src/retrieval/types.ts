import type { DocumentKind } from '../config/index.ts';

// The retrieval interface (v1), shared by the chat server, `/v1/retrieve`, `kb search` and `kb eval`.

/** Metadata filters, applied inside each leg's search (never by trimming a top-k afterwards). */
export interface SearchFilters {
  kinds?: DocumentKind[];
  /** Inclusive ISO date/time bounds on published_at. */
  from?: string;
  to?: string;
  /** A document matches when it carries ANY of these tags. */
  tags?: string[];
  sources?: string[];
}

export interface RetrieveRequest {
  query: string;
  topK: number;
  filters?: SearchFilters;
  /**
   * ACL scope of the caller: the groups its API key carries. A document with ACL groups is
   * visible only when it shares at least one group with the caller; a document with no groups
   * is public. `null` = unrestricted (auth disabled on a loopback-only server, or an operator CLI).
   */
  groups: string[] | null;
  /** Which legs to run (default: both → hybrid). */
  mode?: 'hybrid' | 'dense' | 'bm25';
  /** Return each leg's ranked chunk ids in `legs` (evaluation, debugging). */
  explainLegs?: boolean;
}

export interface LegScore {
  rank: number; // 1-based rank within the leg
  score: number; // cosine similarity (dense) or BM25 score (bm25), higher is better
}

export interface ScoreBreakdown {
  dense: LegScore | null;
  bm25: LegScore | null;
  /**
   * The fusion stage's score (v1 name, from when RRF was the only fusion): weighted RRF when
   * `fusion.method` is 'rrf', the convex combination of normalised leg scores when 'convex'.
   */
  rrf: number;
  /** Multiplier from the recency preference (1 when not applied). */
  recency: number;
  /** rrf × recency: the score ordering the candidates before the reranker and exact-match stages. */
  fused: number;
  // The fields below are always set by the hybrid retriever (optional for other Retriever implementations).
  /**
   * Which fusion produced `rrf` and each leg's term of it (they add up to `rrf`): rrf weight /
   * (rrf_k + rank); convex alpha × normalised cosine and (1 − alpha) × normalised BM25 score.
   * 0 for a leg that did not return the hit.
   */
  fusion?: { method: 'rrf' | 'convex'; dense: number; bm25: number };
  /** Position by the fusion score alone among the fused candidates (1-based): where the hit would be without the stages below. */
  rrfRank?: number;
  /** Reranker score when a reranker ordered this hit (null: no reranker, or the hit was outside its head). */
  rerank?: number | null;
  /** The query is this document's title ('title') or occurs verbatim in it ('phrase'): such hits lead. */
  exact?: 'title' | 'phrase' | null;
  /** Every stage that moved this hit, in order (empty: the hit is where rrf put it). */
  moves?: ScoreMove[];
}

/** One re-ranking stage's effect on a hit: its position (1-based, among candidates) before and after. */
export interface ScoreMove {
  stage: 'recency' | 'rerank' | 'exact' | 'doc_cap' | 'mmr';
  from: number;
  to: number;
}

/** What the ordering stages did for one request. */
export interface RankingInfo {
  /** Whether recency was applied, or why not. */
  recency: 'applied' | 'disabled' | 'not time-sensitive';
  /** Reranker: 'applied', 'off' (not configured), or why it was skipped (the hits keep the fused order). */
  rerank: string;
}

export interface RetrievalHit {
  chunkId: number;
  docId: number;
  source: string;
  externalId: string;
  kind: DocumentKind;
  title: string;
  url: string | null;
  publishedAt: string | null;
  tags: string[];
  text: string;
  /** 1-based page (PDF) or slide (PPTX) where the chunk starts; null/absent for formats without pages. */
  page?: number | null;
  score: ScoreBreakdown;
}

export interface RetrieveResult {
  hits: RetrievalHit[];
  /** Milliseconds per stage: embed, dense, bm25, fuse, total. */
  timings: Record<string, number>;
  /** Legs that could not run, with why (e.g. "dense: embedding model unavailable"). */
  degraded: string[];
  /** What the ordering stages did (absent from retrievers that have no such stages). */
  ranking?: RankingInfo;
  /** Each leg's chunk ids in rank order (only when the request set `explainLegs`; evaluation uses it). */
  legs?: { dense: number[] | null; bm25: number[] | null };
  /** The same lists with each leg's raw score (cosine / BM25), likewise only with `explainLegs` (fusion analysis). */
  legHits?: { dense: Array<{ chunkId: number; score: number }> | null; bm25: Array<{ chunkId: number; score: number }> | null };
}

export interface Retriever {
  retrieve(req: RetrieveRequest): Promise<RetrieveResult>;
}

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
}

export interface LegScore {
  rank: number; // 1-based rank within the leg
  score: number; // cosine similarity (dense) or BM25 score (bm25), higher is better
}

export interface ScoreBreakdown {
  dense: LegScore | null;
  bm25: LegScore | null;
  /** Weighted reciprocal-rank-fusion score. */
  rrf: number;
  /** Multiplier from the recency preference (1 when not applied). */
  recency: number;
  /** Final score used for ranking (after recency; MMR reorders but reports this score). */
  fused: number;
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
}

export interface Retriever {
  retrieve(req: RetrieveRequest): Promise<RetrieveResult>;
}

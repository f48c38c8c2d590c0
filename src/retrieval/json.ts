import type { RetrievalHit, RetrieveResult, ScoreBreakdown } from './types.ts';

// The public JSON of retrieval results — `/v1/retrieve`, the console's retrieval test and
// `kb search --json` — in the API's snake_case. The TypeScript types keep camelCase like the rest
// of the code; this file is the one place where they are mapped, field by field (no spreading), so
// a field added to the types later cannot leak into the API under its internal name: it appears
// only once it is mapped here (json.test.ts checks every key of a real response).

export interface ScoreJson {
  dense: { rank: number; score: number } | null;
  bm25: { rank: number; score: number } | null;
  /** The fusion stage's score (v1 name; see `fusion`). */
  rrf: number;
  /** Which fusion produced `rrf` and each leg's term of it (null from retrievers without stages). */
  fusion: { method: 'rrf' | 'convex'; dense: number; bm25: number } | null;
  /** Position by the fusion score alone among the fused candidates (1-based; null from retrievers without stages). */
  rrf_rank: number | null;
  recency: number;
  fused: number;
  rerank: number | null;
  exact: 'title' | 'phrase' | null;
  moves: { stage: string; from: number; to: number }[];
}

const leg = (l: ScoreBreakdown['dense']) => (l ? { rank: l.rank, score: l.score } : null);

export function scoreJson(s: ScoreBreakdown): ScoreJson {
  return {
    dense: leg(s.dense),
    bm25: leg(s.bm25),
    rrf: s.rrf,
    fusion: s.fusion ? { method: s.fusion.method, dense: s.fusion.dense, bm25: s.fusion.bm25 } : null,
    rrf_rank: s.rrfRank ?? null,
    recency: s.recency,
    fused: s.fused,
    rerank: s.rerank ?? null,
    exact: s.exact ?? null,
    moves: (s.moves ?? []).map((m) => ({ stage: m.stage, from: m.from, to: m.to })),
  };
}

export function hitJson(h: RetrievalHit) {
  return {
    chunk_id: h.chunkId,
    doc_id: h.docId,
    source: h.source,
    external_id: h.externalId,
    kind: h.kind,
    title: h.title,
    url: h.url,
    published_at: h.publishedAt,
    tags: h.tags,
    page: h.page ?? null,
    text: h.text,
    score: scoreJson(h.score),
  };
}

/** The parts of a result every JSON form carries besides its hits (legs only when requested). */
export function resultMetaJson(r: RetrieveResult) {
  return {
    timings: { ...r.timings },
    degraded: [...r.degraded],
    ranking: r.ranking ? { recency: r.ranking.recency, rerank: r.ranking.rerank } : null,
    ...(r.legs ? { legs: { dense: r.legs.dense, bm25: r.legs.bm25 } } : {}),
  };
}

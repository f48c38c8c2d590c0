// The BM25 formula exactly as SQLite FTS5's bm25() computes it (ext/fts5/fts5_aux.c), so the
// engine's scores equal the FTS5 leg's `-bm25(chunks_fts)` and retrieval quality cannot move:
//   idf   = ln((N - n + 0.5) / (n + 0.5)), clamped to 1e-6 when ≤ 0
//   score = Σ_terms idf · (tf · (k1 + 1)) / (tf + k1 · (1 - b + b · dl / avgdl))
// with N = documents, n = documents holding the term, dl = tokens in the document and
// avgdl = total tokens / N. Operation order follows the C source: float addition is not
// associative, and identical order is what makes equal scores (ties) equal in both engines.
//
// k1 and b are settable (`retrieval.bm25.k1` / `.b`) for the engine: each version file records the
// values its per-document norms and per-block maxima were computed with. FTS5's bm25() cannot
// take them (it fixes 1.2 / 0.75), so FTS5 equals the engine only at those defaults.

export interface Bm25Params {
  k1: number;
  b: number;
}

/** FTS5's defaults (bm25() called without weights). */
export const FTS5_BM25: Bm25Params = { k1: 1.2, b: 0.75 };

export function bm25Idf(docs: number, df: number): number {
  const idf = Math.log((docs - df + 0.5) / (df + 0.5));
  return idf <= 0 ? 1e-6 : idf;
}

/** The per-document length normalisation `k1 · (1 - b + b · dl / avgdl)`, precomputed per document. */
export function bm25Norm(dl: number, avgdl: number, p: Bm25Params): number {
  return p.k1 * (1 - p.b + (p.b * dl) / avgdl);
}

/** One term's contribution: idf · (tf · (k1 + 1)) / (tf + norm). */
export function bm25Term(idf: number, tf: number, norm: number, k1: number): number {
  return idf * ((tf * (k1 + 1)) / (tf + norm));
}

/** The same k1 and b (exact: both come from the same config numbers or their JSON round trip). */
export function sameBm25Params(x: Bm25Params, y: Bm25Params): boolean {
  return x.k1 === y.k1 && x.b === y.b;
}

export function describeBm25Params(p: Bm25Params): string {
  return `k1 ${p.k1}, b ${p.b}`;
}

/**
 * The configured parameters (`retrieval.bm25.k1` / `.b`); absent keys mean FTS5's values, so a
 * config written before the keys existed keeps the scores it had.
 */
export function bm25ParamsOf(cfg: { k1?: number; b?: number } | undefined): Bm25Params {
  return { k1: cfg?.k1 ?? FTS5_BM25.k1, b: cfg?.b ?? FTS5_BM25.b };
}

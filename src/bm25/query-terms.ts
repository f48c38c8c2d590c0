import type { DB } from '../store/index.ts';

// Optional query-term pruning for the BM25 leg. The exact engine (segment.ts) makes it
// unnecessary for speed, and every dropped term can change the ranking, so the two quality-costing
// rules — dropping terms found in a large share of chunks (`maxDocRatio`) and a postings budget
// (`maxPostings`) — are OFF by default and exist only as explicit opt-ins. `maxTerms` still caps
// a very long query (a pasted document) to its rarest terms.

export interface QueryTermOptions {
  /** Keep at most this many terms (the rarest); 0 = no cap. */
  maxTerms: number;
  /** Drop terms found in more than this share of chunks (when rarer terms exist); 1 = never. */
  maxDocRatio: number;
  /** Always keep at least this many terms (the rarest) when the query has any that match. */
  minTerms: number;
  /** A term is dropped for being common only when it is in more than this many chunks too. */
  minDocsToDrop: number;
  /** Stop adding terms (rarest first) once their postings add up to more than this; 0 = no budget. */
  maxPostings: number;
}

/** Defaults: no pruning beyond the cap on query length. */
export const defaultQueryTermOptions: QueryTermOptions = { maxTerms: 16, maxDocRatio: 1, minTerms: 2, minDocsToDrop: 1000, maxPostings: 0 };

/** The served leg's options from `retrieval.bm25` (minTerms fixed at 2): one mapping for the retriever and the benches. */
export function queryTermOptionsOf(cfg: { max_query_terms: number; max_term_doc_ratio: number; min_docs_to_drop: number; max_postings: number }): QueryTermOptions {
  return { maxTerms: cfg.max_query_terms, maxDocRatio: cfg.max_term_doc_ratio, minTerms: 2, minDocsToDrop: cfg.min_docs_to_drop, maxPostings: cfg.max_postings };
}

/** Document frequency of each term (terms absent from the index are omitted), from FTS5's vocabulary. */
export function termFrequencies(db: DB, terms: readonly string[]): Map<string, number> {
  const unique = [...new Set(terms)];
  if (unique.length === 0) return new Map();
  const rows = db
    .prepare(`SELECT term, doc FROM chunks_fts_vocab WHERE term IN (${unique.map(() => '?').join(',')})`)
    .all(...unique) as { term: string; doc: number }[];
  return new Map(rows.map((r) => [r.term, r.doc]));
}

/** The terms worth matching, rarest first, given their document frequencies and the index size. Terms no chunk contains are dropped. */
export function pickQueryTerms(df: ReadonlyMap<string, number>, indexed: number, opts: QueryTermOptions = defaultQueryTermOptions): string[] {
  const ranked = [...df.entries()].filter(([, n]) => n > 0).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  const limit = opts.maxDocRatio >= 1 ? Infinity : Math.max(opts.maxDocRatio * indexed, opts.minDocsToDrop);
  const budget = opts.maxPostings > 0 ? opts.maxPostings : Infinity;
  const cap = opts.maxTerms > 0 ? opts.maxTerms : Infinity;
  const kept: string[] = [];
  let postings = 0;
  for (const [term, n] of ranked) {
    if (kept.length >= cap) break;
    const essential = kept.length < opts.minTerms;
    if (!essential && (n > limit || postings + n > budget)) break; // rarest first: the rest are commoner
    kept.push(term);
    postings += n;
  }
  return kept;
}

/** pickQueryTerms over the FTS5 index (chunks in it = live chunks). */
export function selectQueryTerms(db: DB, terms: readonly string[], opts: QueryTermOptions = defaultQueryTermOptions): string[] {
  const n = db.prepare('SELECT count(*) FROM chunks_fts').pluck().get() as number;
  return pickQueryTerms(termFrequencies(db, terms), n, opts);
}

import type { DB } from '../store/index.ts';

// Query planning for the BM25 leg. An OR of every analysed query term makes FTS5 score every
// chunk holding any of them — for a chatty question, a third of the index. Terms found in a
// large share of chunks carry little weight (BM25's IDF is near zero) yet dominate that cost,
// so the rarest terms are kept, up to a cap.

export interface QueryTermOptions {
  /** Keep at most this many terms (the rarest). */
  maxTerms: number;
  /** Drop terms found in more than this share of chunks (when rarer terms exist). */
  maxDocRatio: number;
  /** Always keep at least this many terms (the rarest) when the query has any that match. */
  minTerms: number;
  /** A term is dropped for being common only when it is in more than this many chunks too (small indexes score fast anyway). */
  minDocsToDrop: number;
  /** Stop adding terms (rarest first) once their postings add up to more than this: bounds FTS5's work at any index size. */
  maxPostings: number;
}

export const defaultQueryTermOptions: QueryTermOptions = { maxTerms: 16, maxDocRatio: 0.1, minTerms: 2, minDocsToDrop: 1000, maxPostings: 200_000 };

const COUNT_TTL_MS = 30_000;
const chunkCounts = new WeakMap<DB, { at: number; n: number }>();

/** Live chunks in the BM25 index (cached briefly: it only scales the ratio). */
function indexedChunks(db: DB): number {
  const cached = chunkCounts.get(db);
  if (cached && Date.now() - cached.at < COUNT_TTL_MS) return cached.n;
  const n = db.prepare('SELECT count(*) FROM chunks WHERE retired_at IS NULL').pluck().get() as number;
  chunkCounts.set(db, { at: Date.now(), n });
  return n;
}

/** Document frequency of each term (terms absent from the index are omitted). */
export function termFrequencies(db: DB, terms: readonly string[]): Map<string, number> {
  const unique = [...new Set(terms)];
  if (unique.length === 0) return new Map();
  const rows = db
    .prepare(`SELECT term, doc FROM chunks_fts_vocab WHERE term IN (${unique.map(() => '?').join(',')})`)
    .all(...unique) as { term: string; doc: number }[];
  return new Map(rows.map((r) => [r.term, r.doc]));
}

/** The terms worth matching, rarest first. Terms no chunk contains are dropped (they match nothing). */
export function selectQueryTerms(db: DB, terms: readonly string[], opts: QueryTermOptions = defaultQueryTermOptions): string[] {
  const df = termFrequencies(db, terms);
  const ranked = [...df.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  const limit = Math.max(opts.maxDocRatio * indexedChunks(db), opts.minDocsToDrop);
  const kept: string[] = [];
  let postings = 0;
  for (const [term, n] of ranked) {
    if (kept.length >= opts.maxTerms) break;
    const essential = kept.length < opts.minTerms;
    if (!essential && (n > limit || postings + n > opts.maxPostings)) break; // rarest first: the rest are commoner
    kept.push(term);
    postings += n;
  }
  return kept;
}

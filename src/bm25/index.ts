import type { DB } from '../store/index.ts';

// The BM25 leg: SQLite FTS5 over pre-analysed terms (chunks_fts.rowid = chunks.id). Terms are
// produced by the text analyser (jieba for Chinese, stemming for English) and stored space-
// separated, so FTS5's tokenizer only splits on spaces and both sides match the same tokens.

export interface Bm25Hit {
  chunkId: number;
  /** -bm25(): higher is better. Comparable only within one query. */
  score: number;
  /** 1-based position in the result list. */
  rank: number;
}

/** A WHERE fragment over aliases `c` (chunks) and `d` (documents), with its `?` parameters. */
export interface SqlFilter {
  sql: string;
  params: unknown[];
}

export class Bm25QueryError extends Error {
  constructor(
    readonly matchExpr: string,
    cause: unknown,
  ) {
    super(`invalid FTS5 match expression ${JSON.stringify(matchExpr)}: ${(cause as Error).message}`, { cause });
    this.name = 'Bm25QueryError';
  }
}

/** Sets the searchable terms of a chunk (replacing any previous ones). Call inside the caller's transaction. */
export function writeChunkTerms(db: DB, chunkId: number, terms: string): void {
  assertId(chunkId);
  // FTS5 has no upsert on rowid; delete + insert is the documented way to replace a row.
  db.prepare('DELETE FROM chunks_fts WHERE rowid = ?').run(chunkId);
  const text = terms.trim();
  if (text) db.prepare('INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)').run(chunkId, text);
}

/** Removes a chunk from the BM25 leg. Returns whether it had terms. */
export function deleteChunkTerms(db: DB, chunkId: number): boolean {
  assertId(chunkId);
  return db.prepare('DELETE FROM chunks_fts WHERE rowid = ?').run(chunkId).changes > 0;
}

/**
 * An FTS5 match expression that ORs analysed query terms, each quoted so that operators and
 * punctuation in user text ("AND", "-", ":", "*") are matched as text, never parsed as syntax.
 * Duplicates are dropped. Returns '' when there is no term.
 */
export function matchAnyTerm(terms: readonly string[]): string {
  const seen = new Set<string>();
  for (const t of terms) {
    const term = t.trim();
    if (term && /[\p{L}\p{N}]/u.test(term)) seen.add(term);
  }
  return [...seen].map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}

/**
 * Top-k live chunks for an FTS5 match expression by BM25 (FTS5 defaults k1=1.2, b=0.75).
 * Retired chunks and deleted documents are excluded and `filter` is applied inside the query,
 * so a restrictive filter still yields up to k results rather than a trimmed top-k.
 */
export function searchBm25(db: DB, matchExpr: string, k: number, filter?: SqlFilter): Bm25Hit[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
  if (!matchExpr.trim() || k === 0) return [];
  const where = filter?.sql.trim() ? `AND (${filter.sql})` : '';
  const sql = `
    SELECT f.rowid AS chunkId, -bm25(chunks_fts) AS score
    FROM chunks_fts AS f
    JOIN chunks AS c ON c.id = f.rowid
    JOIN documents AS d ON d.id = c.document_id
    WHERE chunks_fts MATCH ? AND c.retired_at IS NULL AND d.deleted_at IS NULL ${where}
    ORDER BY f.rank
    LIMIT ?`;
  let rows: { chunkId: number; score: number }[];
  try {
    rows = db.prepare(sql).all(matchExpr, ...(filter?.params ?? []), k) as typeof rows;
  } catch (err) {
    // Tell a bad match expression (the caller's input) from a bad filter (a programming error).
    if (!isValidMatch(db, matchExpr)) throw new Bm25QueryError(matchExpr, err);
    throw err;
  }
  return rows.map((r, i) => ({ chunkId: r.chunkId, score: r.score, rank: i + 1 }));
}

function isValidMatch(db: DB, matchExpr: string): boolean {
  try {
    db.prepare('SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1').all(matchExpr);
    return true;
  } catch {
    return false;
  }
}

function assertId(id: number): void {
  if (!Number.isInteger(id) || id < 1) throw new Error(`chunk id must be a positive integer, got ${id}`);
}

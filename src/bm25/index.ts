import type { DB } from '../store/index.ts';

// The BM25 module owns the BM25 index: every write goes through here (ingestion uses Bm25Writer).
// Storage: SQLite FTS5 over pre-analysed terms (chunks_fts.rowid = chunks.id) is the durable
// record of each chunk's terms, the exhaustive reference scorer and the fallback; the fast leg is
// the versioned, pruned engine built from it (versions.ts, segment.ts, leg.ts). Terms are produced
// by the text analyser (jieba for Chinese, stemming for English) and stored space-separated, so
// FTS5's tokenizer only splits on spaces and both sides match the same tokens.

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

/**
 * The write side of the BM25 index, with its statements prepared once (ingestion writes
 * millions of chunks). Call its methods inside the caller's transaction, together with the
 * chunk rows they describe, so a crash never leaves them disagreeing.
 */
export class Bm25Writer {
  private readonly q;

  constructor(db: DB) {
    this.q = {
      insert: db.prepare('INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)'),
      remove: db.prepare('DELETE FROM chunks_fts WHERE rowid = ?'),
      // The active index file may hold the chunk: readers mask it from the next search on.
      logRemoval: db.prepare('INSERT INTO bm25_removed (chunk_id) VALUES (?)'),
    };
  }

  /**
   * Indexes a new chunk's analysed terms (space separated). A chunk without terms still gets its
   * (empty) row: it counts in BM25's N and average length, as it always has in FTS5.
   */
  add(chunkId: number, terms: string): void {
    assertId(chunkId);
    this.q.insert.run(chunkId, terms.trim());
  }

  /** Removes a chunk from the BM25 index. Returns whether it had terms. */
  remove(chunkId: number): boolean {
    assertId(chunkId);
    if (this.q.remove.run(chunkId).changes === 0) return false;
    this.q.logRemoval.run(chunkId);
    return true;
  }

  /**
   * Replaces a chunk's terms (FTS5 has no upsert on rowid; delete + insert is the documented
   * way). Empty terms leave the chunk unindexed.
   */
  replace(chunkId: number, terms: string): void {
    this.remove(chunkId);
    if (terms.trim()) this.add(chunkId, terms);
  }
}

const writers = new WeakMap<DB, Bm25Writer>();
const writerOf = (db: DB): Bm25Writer => {
  let w = writers.get(db);
  if (!w) writers.set(db, (w = new Bm25Writer(db)));
  return w;
};

/** Sets the searchable terms of a chunk (replacing any previous ones). Call inside the caller's transaction. */
export function writeChunkTerms(db: DB, chunkId: number, terms: string): void {
  writerOf(db).replace(chunkId, terms);
}

/** Removes a chunk from the BM25 leg. Returns whether it had terms. */
export function deleteChunkTerms(db: DB, chunkId: number): boolean {
  return writerOf(db).remove(chunkId);
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
 * The exhaustive reference (and the fallback while no engine version is loadable):
 * top-k live chunks for an FTS5 match expression by BM25 (FTS5 defaults k1=1.2, b=0.75).
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

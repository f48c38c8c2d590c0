import { beforeEach, describe, expect, it } from 'vitest';
import { openStore, type DB } from '../store/index.ts';
import { Bm25QueryError, Bm25Writer, deleteChunkTerms, matchAnyTerm, searchBm25, writeChunkTerms } from './index.ts';

let db: DB;

/** Inserts a document with one chunk per terms string; returns the chunk ids. */
function addDoc(id: number, kind: 'news' | 'post', chunks: string[], source = 'wire'): number[] {
  db.prepare('INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES (?, ?, ?, ?)').run(source, 'jsonl', 'x', 'full');
  db.prepare(
    "INSERT INTO documents (id, source, external_id, kind, body, content_hash, text_hash, first_seen, last_seen) VALUES (?, ?, ?, ?, 'b', 'c', 't', 'now', 'now')",
  ).run(id, source, `e${id}`, kind);
  return chunks.map((terms, i) => {
    const r = db
      .prepare("INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, ?, 't', 't', 'h', 0, 1, 1)")
      .run(id, i);
    const chunkId = Number(r.lastInsertRowid);
    writeChunkTerms(db, chunkId, terms);
    return chunkId;
  });
}

let ids: Record<string, number>;

beforeEach(() => {
  db = openStore(':memory:');
  // Pre-analysed terms: jieba-segmented Chinese and stemmed English, space separated.
  const [a, b] = addDoc(1, 'news', ['人工智能 公司 完成 融资 人工智能 芯片', 'compani report revenu growth']);
  const [c] = addDoc(2, 'news', ['半导体 芯片 出口 管制']);
  const [d] = addDoc(3, 'post', ['人工智能 大模型 发布'], 'forum');
  const [e] = addDoc(4, 'post', ['electr vehicl batteri revenu revenu']);
  const filler = addDoc(5, 'news', ['天气 晴朗', '股市 上涨', '足球 比赛', '音乐 节']);
  ids = { a, b, c, d, e, f0: filler[0] };
});

describe('searchBm25', () => {
  it('ranks by BM25: more occurrences in a shorter chunk score higher', () => {
    const hits = searchBm25(db, matchAnyTerm(['人工智能']), 10);
    expect(hits.map((h) => h.chunkId)).toEqual([ids.a, ids.d]);
    expect(hits.map((h) => h.rank)).toEqual([1, 2]);
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    expect(hits[1].score).toBeGreaterThan(0);
  });

  it('ORs terms and rewards chunks matching more of them', () => {
    const hits = searchBm25(db, matchAnyTerm(['芯片', '出口']), 10);
    expect(hits[0].chunkId).toBe(ids.c); // matches both terms
    expect(new Set(hits.map((h) => h.chunkId))).toEqual(new Set([ids.a, ids.c]));
  });

  it('applies metadata filters inside the query, so k results still come back', () => {
    // Unfiltered top-1 is a news chunk; filtered to posts, the post still comes back at k=1.
    expect(searchBm25(db, matchAnyTerm(['人工智能']), 1).map((h) => h.chunkId)).toEqual([ids.a]);
    const posts = searchBm25(db, matchAnyTerm(['人工智能']), 1, { sql: 'd.kind = ?', params: ['post'] });
    expect(posts.map((h) => h.chunkId)).toEqual([ids.d]);
    const bySource = searchBm25(db, matchAnyTerm(['revenu']), 5, { sql: 'd.source = ? AND c.ordinal >= ?', params: ['wire', 1] });
    expect(bySource.map((h) => h.chunkId)).toEqual([ids.b]);
  });

  it('never returns retired chunks or chunks of deleted documents', () => {
    db.prepare("UPDATE chunks SET retired_at = 'now' WHERE id = ?").run(ids.a);
    expect(searchBm25(db, matchAnyTerm(['人工智能']), 10).map((h) => h.chunkId)).toEqual([ids.d]);
    db.prepare("UPDATE documents SET deleted_at = 'now' WHERE id = 3").run();
    expect(searchBm25(db, matchAnyTerm(['人工智能']), 10)).toEqual([]);
  });

  it('returns [] for an empty query or k = 0', () => {
    expect(searchBm25(db, '', 10)).toEqual([]);
    expect(searchBm25(db, '   ', 10)).toEqual([]);
    expect(searchBm25(db, matchAnyTerm([]), 10)).toEqual([]);
    expect(searchBm25(db, matchAnyTerm(['人工智能']), 0)).toEqual([]);
    expect(searchBm25(db, matchAnyTerm(['不存在的词']), 10)).toEqual([]);
  });

  it('reports a malformed match expression as Bm25QueryError, and a bad filter as itself', () => {
    expect(() => searchBm25(db, 'foo:bar', 5)).toThrow(Bm25QueryError);
    expect(() => searchBm25(db, '"unterminated', 5)).toThrow(Bm25QueryError);
    expect(() => searchBm25(db, matchAnyTerm(['芯片']), 5, { sql: 'c.no_such_column = 1', params: [] })).toThrow(/no such column: c.no_such_column/);
    expect(() => searchBm25(db, matchAnyTerm(['芯片']), -1)).toThrow(/k must be/);
  });
});

describe('matchAnyTerm', () => {
  it('quotes terms so FTS5 operators and punctuation in them are plain text', () => {
    expect(matchAnyTerm(['AND', 'c++', 'say "hi"', 'AND', '  ', '-'])).toBe('"AND" OR "c++" OR "say ""hi"""'); // '-' has no searchable character
    addDoc(9, 'news', ['and or not near']);
    expect(searchBm25(db, matchAnyTerm(['NOT', 'near']), 5)).toHaveLength(1);
  });
});

describe('writeChunkTerms / deleteChunkTerms', () => {
  it('replaces a chunk’s terms and deletes them', () => {
    writeChunkTerms(db, ids.e, 'solar panel');
    expect(searchBm25(db, matchAnyTerm(['revenu']), 10).map((h) => h.chunkId)).toEqual([ids.b]);
    expect(searchBm25(db, matchAnyTerm(['solar']), 10).map((h) => h.chunkId)).toEqual([ids.e]);
    expect(db.prepare('SELECT count(*) FROM chunks_fts WHERE rowid = ?').pluck().get(ids.e)).toBe(1);
    expect(deleteChunkTerms(db, ids.e)).toBe(true);
    expect(deleteChunkTerms(db, ids.e)).toBe(false);
    expect(searchBm25(db, matchAnyTerm(['solar']), 10)).toEqual([]);
    expect(() => writeChunkTerms(db, 0, 'x')).toThrow(/chunk id/);
  });

  it('works inside the caller’s transaction and rolls back with it', () => {
    expect(() =>
      db.transaction(() => {
        deleteChunkTerms(db, ids.c);
        throw new Error('ingestion failed');
      })(),
    ).toThrow('ingestion failed');
    expect(searchBm25(db, matchAnyTerm(['半导体']), 5).map((h) => h.chunkId)).toEqual([ids.c]);
    expect(db.prepare('SELECT count(*) FROM bm25_removed').pluck().get()).toBe(0); // the removal log rolled back too
  });

  it('logs every removal for the engine versions (live-docs set), and only real removals', () => {
    const removed = () => db.prepare('SELECT chunk_id FROM bm25_removed ORDER BY seq').pluck().all();
    const w = new Bm25Writer(db);
    expect(w.remove(ids.c)).toBe(true);
    expect(w.remove(ids.c)).toBe(false);
    w.replace(ids.d, '芯片 出口');
    expect(removed()).toEqual([ids.c, ids.d]);
    // A chunk without terms keeps an (empty) row: it counts in N like it always has in FTS5.
    w.add(ids.c, '   ');
    expect(db.prepare('SELECT terms FROM chunks_fts WHERE rowid = ?').pluck().get(ids.c)).toBe('');
    expect(() => w.add(-1, 'x')).toThrow(/chunk id/);
  });
});

import { describe, expect, it } from 'vitest';
import { openStore } from '../store/index.ts';
import { matchAnyTerm, searchBm25 } from './index.ts';
import { defaultQueryTermOptions, pickQueryTerms, selectQueryTerms, termFrequencies } from './query-terms.ts';

function corpus(n: number) {
  const db = openStore(':memory:');
  db.prepare("INSERT INTO sources (name, type, path, mode) VALUES ('s', 'jsonl', 'x', 'full')").run();
  const doc = db.prepare(
    "INSERT INTO documents (source, external_id, kind, body, content_hash, text_hash, first_seen, last_seen) VALUES ('s', ?, 'news', 'b', 'h', 'h', 'now', 'now')",
  );
  const chunk = db.prepare("INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, 0, 't', 't', 'h', 0, 1, 1)");
  const fts = db.prepare('INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)');
  for (let i = 0; i < n; i++) {
    const d = Number(doc.run(`e${i}`).lastInsertRowid);
    const c = Number(chunk.run(d).lastInsertRowid);
    // "compani" is everywhere, "market" in a third, "battery" in 10, "huake" in 2.
    const terms = ['compani', i % 3 === 0 ? 'market' : '', i < 10 ? 'batteri' : '', i < 2 ? 'huake' : ''].filter(Boolean);
    fts.run(c, terms.join(' '));
  }
  return db;
}

describe('BM25 query term selection', () => {
  it('reads document frequencies from the FTS5 vocabulary', () => {
    const db = corpus(300);
    expect(Object.fromEntries(termFrequencies(db, ['compani', 'market', 'huake', 'absent']))).toEqual({ compani: 300, market: 100, huake: 2 });
  });

  it('keeps the rarest terms, drops very common ones and terms that match nothing', () => {
    const db = corpus(300);
    expect(selectQueryTerms(db, ['compani', 'market', 'batteri', 'huake', 'absent'], { maxTerms: 16, maxDocRatio: 0.1, minTerms: 2, minDocsToDrop: 0, maxPostings: 1e9 })).toEqual(['huake', 'batteri']);
    expect(selectQueryTerms(db, ['compani', 'market', 'batteri', 'huake'], { maxTerms: 1, maxDocRatio: 0.5, minTerms: 1, minDocsToDrop: 0, maxPostings: 1e9 })).toEqual(['huake']);
  });

  it('keeps the rarest terms even when all are common, so a query still matches', () => {
    const db = corpus(300);
    expect(selectQueryTerms(db, ['compani', 'market'], { maxTerms: 16, maxDocRatio: 0.1, minTerms: 2, minDocsToDrop: 0, maxPostings: 1e9 })).toEqual(['market', 'compani']);
    expect(selectQueryTerms(db, ['absent'])).toEqual([]);
    // A small index keeps common terms: scoring it is cheap and they still help ranking.
    expect(selectQueryTerms(db, ['compani', 'market', 'huake'])).toEqual(['huake', 'market', 'compani']);
  });

  it('stops adding terms once their postings exceed the budget, keeping the rarest', () => {
    const db = corpus(300);
    const opts = { maxTerms: 16, maxDocRatio: 1, minTerms: 1, minDocsToDrop: 0, maxPostings: 120 };
    expect(selectQueryTerms(db, ['compani', 'market', 'batteri', 'huake'], opts)).toEqual(['huake', 'batteri', 'market']);
    expect(selectQueryTerms(db, ['compani', 'market'], { ...opts, maxPostings: 50 })).toEqual(['market']);
  });

  it('by default drops no term for being common and has no postings budget (the exact engine needs neither)', () => {
    const df = new Map([['compani', 1_000_000], ['market', 400_000], ['huake', 3], ['absent', 0]]);
    expect(defaultQueryTermOptions).toMatchObject({ maxDocRatio: 1, maxPostings: 0 });
    expect(pickQueryTerms(df, 1_000_000)).toEqual(['huake', 'market', 'compani']);
    // Opt-ins still work: ratio, budget, and the cap (0 = none).
    expect(pickQueryTerms(df, 1_000_000, { ...defaultQueryTermOptions, maxDocRatio: 0.1, minTerms: 1 })).toEqual(['huake']);
    expect(pickQueryTerms(df, 1_000_000, { ...defaultQueryTermOptions, maxPostings: 500_000, minTerms: 1 })).toEqual(['huake', 'market']);
    const many = new Map(Array.from({ length: 40 }, (_, i) => [`t${i}`, i + 1] as [string, number]));
    expect(pickQueryTerms(many, 100)).toHaveLength(16);
    expect(pickQueryTerms(many, 100, { ...defaultQueryTermOptions, maxTerms: 0 })).toHaveLength(40);
  });

  it('scores far fewer chunks yet ranks the documents holding the rare terms first', () => {
    const db = corpus(300);
    const all = searchBm25(db, matchAnyTerm(['compani', 'market', 'huake']), 5);
    const pruned = searchBm25(db, matchAnyTerm(selectQueryTerms(db, ['compani', 'market', 'huake'], { maxTerms: 16, maxDocRatio: 0.1, minTerms: 2, minDocsToDrop: 0, maxPostings: 1e9 })), 5);
    expect(pruned.slice(0, 2).map((h) => h.chunkId).sort()).toEqual(all.slice(0, 2).map((h) => h.chunkId).sort());
  });
});

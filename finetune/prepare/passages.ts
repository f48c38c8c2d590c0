import { searchBm25 } from '../../src/bm25/index.ts';
import type { Retriever } from '../../src/retrieval/types.ts';
import type { DB } from '../../src/store/index.ts';
import { ftsQuery } from '../../src/text/analyzer.ts';

// Where RAFT passages come from. Production path: the hybrid Retriever the chat server uses, so
// the model trains on the kind of context it will see. Fallback (no retriever, or it returns
// nothing): the BM25 leg straight from SQLite. Only PUBLIC documents (no ACL groups) are used:
// a fine-tuned model would otherwise leak restricted text to every caller.

export interface Passage {
  chunkId: number;
  /** source:external_id of the document. */
  document: string;
  title: string;
  text: string;
}

export interface PassageSource {
  /** 'retriever' | 'bm25' — reported in the build warnings. */
  readonly path: string;
  /** Passages whose text contains `phrase` verbatim (oracle candidates). */
  mentioning(phrase: string, k: number): Passage[];
  /** Passages related to a question (distractor candidates: hard negatives). */
  related(question: string, k: number): Promise<Passage[]>;
  /** Seeded arbitrary public passages (distractor fill-up when related ones run short). */
  arbitrary(seed: number, k: number): Passage[];
  /** Live public chunks available at all. */
  size(): number;
}

const LIVE_PUBLIC = `c.retired_at IS NULL AND d.deleted_at IS NULL AND d.acl_groups = '[]'`;
const SELECT = `SELECT c.id AS chunkId, d.source || ':' || d.external_id AS document, d.title AS title, c.text AS text
  FROM chunks c JOIN documents d ON d.id = c.document_id`;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

export function createPassageSource(db: DB, retriever: Retriever | null): PassageSource {
  const byIds = (ids: number[]): Passage[] => {
    if (ids.length === 0) return [];
    const rows = db.prepare(`${SELECT} WHERE c.id IN (${ids.map(() => '?').join(',')}) AND ${LIVE_PUBLIC}`).all(...ids) as Passage[];
    const pos = new Map(ids.map((id, i) => [id, i]));
    return rows.sort((a, b) => pos.get(a.chunkId)! - pos.get(b.chunkId)!);
  };
  const bm25 = (question: string, k: number): Passage[] => {
    const match = ftsQuery(question);
    return match ? byIds(searchBm25(db, match, k, { sql: `d.acl_groups = '[]'`, params: [] }).map((h) => h.chunkId)) : [];
  };
  const useRetriever = retriever !== null && size() > 0;
  function size(): number {
    return (db.prepare(`SELECT COUNT(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE ${LIVE_PUBLIC}`).pluck().get() as number) ?? 0;
  }
  return {
    path: useRetriever ? 'retriever' : 'bm25',
    mentioning: (phrase, k) =>
      db.prepare(`${SELECT} WHERE ${LIVE_PUBLIC} AND c.text LIKE ? ESCAPE '\\' ORDER BY c.id LIMIT ?`).all(`%${escapeLike(phrase)}%`, k) as Passage[],
    async related(question, k) {
      if (useRetriever) {
        const res = await retriever!.retrieve({ query: question, topK: k, groups: [], mode: 'hybrid' });
        if (res.hits.length > 0) return res.hits.map((h) => ({ chunkId: h.chunkId, document: `${h.source}:${h.externalId}`, title: h.title, text: h.text }));
      }
      return bm25(question, k);
    },
    arbitrary: (seed, k) =>
      db.prepare(`${SELECT} WHERE ${LIVE_PUBLIC} ORDER BY (c.id * 2654435761 + ?) % 4294967296 LIMIT ?`).all(seed >>> 0, k) as Passage[],
    size,
  };
}

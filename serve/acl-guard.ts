import type { Logger } from '../src/log/index.ts';
import type { RetrievalHit } from '../src/retrieval/types.ts';
import type { DB } from '../src/store/index.ts';
import { cachedStatement } from '../src/store/statements.ts';

// Defence in depth: the retriever filters by ACL inside its search; the server checks every hit
// against the documents table once more before it leaves the process, so a retriever bug can
// never leak a document to a key that lacks its groups.

interface DocAcl {
  id: number;
  acl_groups: string;
  deleted_at: string | null;
}

export function enforceAcl(db: DB, hits: RetrievalHit[], groups: string[] | null, log: Logger): RetrievalHit[] {
  if (groups === null || hits.length === 0) return hits;
  const ids = [...new Set(hits.map((h) => h.docId))];
  const rows = cachedStatement(db, 'SELECT id, acl_groups, deleted_at FROM documents WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as DocAcl[];
  const allowed = new Set<number>();
  const mine = new Set(groups);
  for (const r of rows) {
    if (r.deleted_at) continue;
    let docGroups: string[];
    try {
      docGroups = JSON.parse(r.acl_groups) as string[];
    } catch {
      continue; // unreadable ACL: deny
    }
    if (docGroups.length === 0 || docGroups.some((g) => mine.has(g))) allowed.add(r.id);
  }
  const kept = hits.filter((h) => allowed.has(h.docId));
  if (kept.length !== hits.length) {
    log.error({ dropped: hits.length - kept.length, doc_ids: hits.filter((h) => !allowed.has(h.docId)).map((h) => h.docId) }, 'retriever returned hits outside the caller ACL (or deleted documents); dropped them');
  }
  return kept;
}

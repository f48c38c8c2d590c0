import { Router, type RequestHandler } from 'express';
import { acquireLock } from '../../src/lock/index.ts';
import { nowIso } from '../../src/store/index.ts';
import { StoreWriter } from '../../ingest/store-writer.ts';
import { UPLOADS_SOURCE } from '../../ingest/sources/uploads.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { sameSiteOnly } from './same-origin.ts';
import { routeLabel, state } from '../state.ts';
import { intParam, listParam, strParam } from './query-params.ts';

// Documents for people: the passage view behind a citation (chat scope, ACL-checked) and the
// console's document browser (admin scope): search, filter, chunks with embedding state, delete.

interface DocRow {
  id: number;
  source: string;
  external_id: string;
  kind: string;
  title: string;
  body: string;
  url: string | null;
  author: string | null;
  published_at: string | null;
  tags: string;
  acl_groups: string;
  first_seen: string;
  last_seen: string;
  last_run_id: number | null;
  deleted_at: string | null;
}

interface ChunkRow {
  id: number;
  ordinal: number;
  text: string;
  start_offset: number;
  end_offset: number;
  token_count: number;
  vector_label: number | null;
  /** PDF page / PPTX slide the chunk starts on (null for formats without pages). */
  page: number | null;
}

const arr = (s: string): string[] => {
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
};

function docMeta(d: DocRow) {
  return {
    id: d.id,
    source: d.source,
    external_id: d.external_id,
    kind: d.kind,
    title: d.title,
    url: d.url,
    author: d.author,
    published_at: d.published_at,
    tags: arr(d.tags),
    acl_groups: arr(d.acl_groups),
    first_seen: d.first_seen,
    last_seen: d.last_seen,
    last_run_id: d.last_run_id,
  };
}

/** Whether a caller with `groups` (null = unrestricted) may read a document with these ACL groups. */
export function mayRead(docGroups: string[], groups: string[] | null): boolean {
  return groups === null || docGroups.length === 0 || docGroups.some((g) => groups.includes(g));
}

const FACETS_TTL_MS = 30_000;

export function documentRoutes(deps: AppDeps, chatGuard: RequestHandler[], adminGuard: RequestHandler[]): Router {
  const r = Router();
  const { db } = deps;
  const getDoc = db.prepare('SELECT * FROM documents WHERE id = ?');
  const liveChunks = db.prepare('SELECT id, ordinal, text, start_offset, end_offset, token_count, vector_label, page FROM chunks WHERE document_id = ? AND retired_at IS NULL ORDER BY ordinal');

  // The filter menus' values and counts scan every document (the group facet reads each ACL), so
  // they are computed at most every FACETS_TTL_MS rather than on every page of results.
  let cachedFacets: { at: number; value: unknown } | null = null;
  const facets = () => {
    if (cachedFacets && Date.now() - cachedFacets.at < FACETS_TTL_MS) return cachedFacets.value;
    const value = {
      sources: db.prepare('SELECT source AS value, count(*) AS n FROM documents WHERE deleted_at IS NULL GROUP BY source ORDER BY source').all(),
      kinds: db.prepare('SELECT kind AS value, count(*) AS n FROM documents WHERE deleted_at IS NULL GROUP BY kind ORDER BY kind').all(),
      groups: db.prepare('SELECT g.value AS value, count(*) AS n FROM documents d, json_each(d.acl_groups) g WHERE d.deleted_at IS NULL GROUP BY g.value ORDER BY g.value').all(),
    };
    cachedFacets = { at: Date.now(), value };
    return value;
  };

  const docId = (v: unknown): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new HttpError(400, 'id: must be a positive integer', 'invalid_request_error', 'invalid_request', 'id');
    return n;
  };

  // Passage view: the whole cleaned text, with the offsets of the cited chunks to highlight.
  r.get('/documents/:id', routeLabel('/v1/documents/:id'), ...chatGuard, (req, res) => {
    const id = docId(req.params.id);
    const d = getDoc.get(id) as DocRow | undefined;
    // A document the key may not read answers exactly like a missing one.
    if (!d || d.deleted_at || !mayRead(arr(d.acl_groups), state(res).groups)) throw new HttpError(404, `No document ${id}.`, 'not_found_error', 'document_not_found', 'id');
    const wanted = new Set(listParam(req.query.chunks, 'chunks').map((c) => Number(c)));
    const chunks = liveChunks.all(id) as ChunkRow[];
    const highlights = chunks.filter((c) => wanted.has(c.id)).map((c) => ({ chunk_id: c.id, start: c.start_offset, end: c.end_offset, page: c.page }));
    res.json({ object: 'document', ...docMeta(d), body: d.body, highlights });
  });

  r.get('/admin/documents', routeLabel('/v1/admin/documents'), ...adminGuard, (req, res) => {
    const limit = intParam(req.query.limit, 'limit', 50, 1, 500);
    const offset = intParam(req.query.offset, 'offset', 0, 0, 10_000_000);
    const where: string[] = ['d.deleted_at IS NULL'];
    const params: unknown[] = [];
    const q = strParam(req.query.q, 'q');
    if (q) {
      // Title, external id or URL: what an operator has in hand when looking for a document.
      where.push("(d.title LIKE ? ESCAPE '\\' OR d.external_id LIKE ? ESCAPE '\\' OR d.url LIKE ? ESCAPE '\\')");
      const like = `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
      params.push(like, like, like);
    }
    const source = strParam(req.query.source, 'source');
    if (source) (where.push('d.source = ?'), params.push(source));
    const kind = strParam(req.query.kind, 'kind');
    if (kind) (where.push('d.kind = ?'), params.push(kind));
    const from = strParam(req.query.from, 'from');
    if (from) (where.push('d.published_at >= ?'), params.push(from));
    const to = strParam(req.query.to, 'to');
    if (to) (where.push('d.published_at <= ?'), params.push(to.length === 10 ? `${to}T23:59:59.999Z` : to));
    const group = strParam(req.query.group, 'group');
    if (group === '-') where.push("d.acl_groups = '[]'");
    else if (group) (where.push('EXISTS (SELECT 1 FROM json_each(d.acl_groups) g WHERE g.value = ?)'), params.push(group));
    const sql = `FROM documents d WHERE ${where.join(' AND ')}`;
    const total = db.prepare(`SELECT count(*) ${sql}`).pluck().get(...params) as number;
    const rows = db
      .prepare(
        `SELECT d.*, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.retired_at IS NULL) AS chunks,
                (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.retired_at IS NULL AND c.vector_label IS NULL) AS pending_vectors
         ${sql} ORDER BY d.id DESC LIMIT ? OFFSET ?`,
      )
      .all(...params, limit, offset) as (DocRow & { chunks: number; pending_vectors: number })[];
    res.json({ object: 'list', total, limit, offset, data: rows.map((d) => ({ ...docMeta(d), chunks: d.chunks, pending_vectors: d.pending_vectors })), facets: facets() });
  });

  r.get('/admin/documents/:id', routeLabel('/v1/admin/documents/:id'), ...adminGuard, (req, res) => {
    const id = docId(req.params.id);
    const d = getDoc.get(id) as DocRow | undefined;
    if (!d) throw new HttpError(404, `No document ${id}.`, 'not_found_error', 'document_not_found', 'id');
    const chunks = (liveChunks.all(id) as ChunkRow[]).map((c) => ({ ...c, embedding: c.vector_label === null ? 'pending' : 'indexed' }));
    res.json({ object: 'document', ...docMeta(d), deleted_at: d.deleted_at, body: d.body, chunks });
  });

  r.delete('/admin/documents/:id', routeLabel('/v1/admin/documents/:id'), sameSiteOnly, ...adminGuard, (req, res) => {
    const id = docId(req.params.id);
    const d = getDoc.get(id) as DocRow | undefined;
    if (!d || d.deleted_at) throw new HttpError(404, `No document ${id}.`, 'not_found_error', 'document_not_found', 'id');
    if (d.source === UPLOADS_SOURCE) {
      throw new HttpError(409, `Document ${id} is an upload: delete the upload (DELETE /v1/uploads/${d.external_id.split('/')[0]}) so its file goes too.`, 'conflict_error', 'delete_the_upload');
    }
    let lock;
    try {
      lock = acquireLock(db, 'ingest', { ttlMs: 60_000 });
    } catch {
      throw new HttpError(409, 'An ingestion run is in progress; delete the document when it has finished.', 'conflict_error', 'ingest_running');
    }
    let chunks = 0;
    try {
      chunks = db.transaction(() => new StoreWriter(db).delete(id, nowIso()))();
    } finally {
      lock.release();
    }
    state(res).log.info({ doc_id: id, source: d.source }, 'document deleted through the admin API');
    res.json({
      object: 'document.deleted',
      id,
      deleted: true,
      chunks,
      // Honest about what a delete means for a synchronised source.
      note: `removed from search now; if ${d.source} still contains "${d.external_id}", the next ingestion run adds it back — remove it from the source too`,
    });
  });
  return r;
}

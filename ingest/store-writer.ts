import type { DB } from '../src/store/index.ts';
import type { DocumentKind } from '../src/config/index.ts';
import { signatureToBuffer } from '../src/text/dedupe/minhash.ts';
import { Bm25Writer } from '../src/bm25/index.ts';

// The write side of ingestion: documents, their chunks, BM25 terms and LSH buckets change
// together inside the caller's transaction, so a crash never leaves them disagreeing. BM25 terms
// go through the BM25 module (src/bm25), which owns that index.
// Chunks that the active HNSW file still holds (vector_label set) are retired, not deleted,
// so the dense index can drop them on its next version (see src/vector/versions.ts).

export interface StoredDocument {
  id: number;
  content_hash: string;
  deleted_at: string | null;
}

export interface DocumentInput {
  source: string;
  externalId: string;
  kind: DocumentKind;
  title: string;
  body: string;
  url: string | null;
  author: string | null;
  publishedAt: string | null;
  tags: string[];
  aclGroups: string[];
  contentHash: string;
  textHash: string;
  minhash: Uint32Array | null;
  lshBuckets: number[] | null;
}

export interface ChunkInput {
  ordinal: number;
  text: string;
  embedText: string;
  embedHash: string;
  start: number;
  end: number;
  tokens: number;
  /** 1-based page (PDF) or slide (PPTX) the chunk starts on; null/absent for formats without pages. */
  page?: number | null;
  /** Analysed BM25 terms, space separated. */
  terms: string;
}

export class StoreWriter {
  private readonly q;
  private readonly bm25: Bm25Writer;

  constructor(db: DB) {
    this.bm25 = new Bm25Writer(db);
    this.q = {
      find: db.prepare('SELECT id, content_hash, deleted_at FROM documents WHERE source = ? AND external_id = ?'),
      insertDoc: db.prepare(`INSERT INTO documents (source, external_id, kind, title, body, url, author, published_at,
          tags, acl_groups, content_hash, text_hash, minhash, first_seen, last_seen, last_run_id)
        VALUES (@source, @externalId, @kind, @title, @body, @url, @author, @publishedAt, @tags, @aclGroups,
          @contentHash, @textHash, @minhash, @now, @now, @runId)`),
      updateDoc: db.prepare(`UPDATE documents SET kind = @kind, title = @title, body = @body, url = @url,
          author = @author, published_at = @publishedAt, tags = @tags, acl_groups = @aclGroups,
          content_hash = @contentHash, text_hash = @textHash, minhash = @minhash, last_seen = @now,
          last_run_id = @runId, deleted_at = NULL WHERE id = @id`),
      touch: db.prepare('UPDATE documents SET last_seen = ?, last_run_id = ? WHERE id = ?'),
      liveChunks: db.prepare('SELECT id, vector_label FROM chunks WHERE document_id = ? AND retired_at IS NULL'),
      retireChunk: db.prepare('UPDATE chunks SET retired_at = ? WHERE id = ?'),
      deleteChunk: db.prepare('DELETE FROM chunks WHERE id = ?'),
      insertChunk: db.prepare(`INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset,
          end_offset, token_count, page) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      deleteLsh: db.prepare('DELETE FROM document_lsh WHERE document_id = ?'),
      insertLsh: db.prepare('INSERT OR IGNORE INTO document_lsh (band, bucket, document_id) VALUES (?, ?, ?)'),
      markDeleted: db.prepare('UPDATE documents SET deleted_at = ? WHERE id = ?'),
      staleDocs: db.prepare(
        'SELECT id, external_id FROM documents WHERE source = ? AND deleted_at IS NULL AND (last_run_id IS NULL OR last_run_id != ?)',
      ),
    };
  }

  find(source: string, externalId: string): StoredDocument | undefined {
    return this.q.find.get(source, externalId) as StoredDocument | undefined;
  }

  /** An unchanged document: only its sighting is recorded (full-mode deletion relies on it). */
  touch(docId: number, runId: number, now: string): void {
    this.q.touch.run(now, runId, docId);
  }

  /** Inserts or replaces a document and its chunks. Returns the document id and chunk counts. */
  upsert(doc: DocumentInput, chunks: ChunkInput[], runId: number, now: string, existing?: StoredDocument) {
    const params = {
      ...doc,
      tags: JSON.stringify(doc.tags),
      aclGroups: JSON.stringify(doc.aclGroups),
      minhash: doc.minhash ? signatureToBuffer(doc.minhash) : null,
      now,
      runId,
    };
    let docId: number;
    let removed = 0;
    if (existing) {
      docId = existing.id;
      removed = this.removeChunks(docId, now);
      this.q.updateDoc.run({ ...params, id: docId });
    } else {
      docId = Number(this.q.insertDoc.run(params).lastInsertRowid);
    }
    for (const c of chunks) {
      const chunkId = Number(
        this.q.insertChunk.run(docId, c.ordinal, c.text, c.embedText, c.embedHash, c.start, c.end, c.tokens, c.page ?? null).lastInsertRowid,
      );
      this.bm25.add(chunkId, c.terms);
    }
    this.q.deleteLsh.run(docId);
    doc.lshBuckets?.forEach((bucket, band) => this.q.insertLsh.run(band, bucket, docId));
    return { docId, added: chunks.length, removed };
  }

  /** Soft-deletes a document: it vanishes from BM25 at once and from HNSW at the next index version. */
  delete(docId: number, now: string): number {
    const removed = this.removeChunks(docId, now);
    this.q.deleteLsh.run(docId);
    this.q.markDeleted.run(now, docId);
    return removed;
  }

  /** Live documents of a source not seen by this run (candidates for full-mode deletion). */
  unseen(source: string, runId: number): number[] {
    return this.unseenRows(source, runId).map((r) => r.id);
  }

  unseenRows(source: string, runId: number): { id: number; external_id: string }[] {
    return this.q.staleDocs.all(source, runId) as { id: number; external_id: string }[];
  }

  private removeChunks(docId: number, now: string): number {
    const rows = this.q.liveChunks.all(docId) as { id: number; vector_label: number | null }[];
    for (const r of rows) {
      this.bm25.remove(r.id);
      if (r.vector_label === null) this.q.deleteChunk.run(r.id);
      else this.q.retireChunk.run(now, r.id);
    }
    return rows.length;
  }
}

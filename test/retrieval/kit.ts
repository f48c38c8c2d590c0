import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeChunkTerms } from '../../src/bm25/index.ts';
import type { DocumentKind } from '../../src/config/index.ts';
import type { RetrievalConfig } from '../../src/config/sections/retrieval.ts';
import { EmbedderUnavailableError, type Embedder } from '../../src/embeddings/types.ts';
import { buildDenseIndex } from '../../src/eval/store.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { analyzeForFts } from '../../src/text/analyzer.ts';
import type { DenseIndexReader } from '../../src/vector/reader.ts';

// Test-only helpers for retrieval tests: a small store written directly (no ingest pipeline) and
// a deterministic embedder test double.

/**
 * Hashed bag-of-words embedder: each lowercased word adds ±1 to one of `dimension` buckets; the
 * vector is L2-normalised. Deterministic, instant, and cosine ≈ word overlap, which is what the
 * tests reason about.
 */
export class BagOfWordsEmbedder implements Embedder {
  readonly dimension = 64;
  constructor(readonly id = 'test:bag-of-words-64') {}
  async load(): Promise<void> {}
  async embedPassages(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.vec(t));
  }
  async embedQuery(text: string): Promise<Float32Array> {
    return this.vec(text);
  }
  private vec(text: string): Float32Array {
    const v = new Float32Array(this.dimension);
    for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      const h = createHash('md5').update(w).digest();
      v[h[0] % this.dimension] += h[1] & 1 ? 1 : -1;
    }
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n) || 1;
    return v.map((x) => x / n);
  }
}

/** An embedder whose model is missing: load() fails like the real local provider does. */
export class MissingModelEmbedder implements Embedder {
  readonly id = 'test:bag-of-words-64';
  readonly dimension = 64;
  async load(): Promise<void> {
    throw new EmbedderUnavailableError('embedding model test/model not found under /nowhere: missing model.onnx');
  }
  async embedPassages(): Promise<Float32Array[]> {
    throw new Error('not loaded');
  }
  async embedQuery(): Promise<Float32Array> {
    throw new Error('not loaded');
  }
}

export interface DocSpec {
  id: string;
  chunks: string[];
  title?: string;
  kind?: DocumentKind;
  source?: string;
  publishedAt?: string | null;
  tags?: string[];
  acl?: string[];
}

export interface TestStore {
  db: DB;
  dir: string;
  /** external id → its chunk ids, in order. */
  chunks: Map<string, number[]>;
  /** chunk id → external id of its document. */
  docOf: Map<number, string>;
  cleanup(): void;
}

export function openTestStore(): TestStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-retrieval-test-'));
  const db = openStore(path.join(dir, 'kb.sqlite'));
  return {
    db,
    dir,
    chunks: new Map(),
    docOf: new Map(),
    cleanup() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function addDocs(store: TestStore, docs: DocSpec[]): void {
  const { db } = store;
  const now = new Date().toISOString();
  db.transaction(() => {
    for (const d of docs) {
      const source = d.source ?? 'test';
      db.prepare(`INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES (?, 'jsonl', 'x', 'full')`).run(source);
      const title = d.title ?? '';
      const body = d.chunks.join('\n\n');
      const docId = Number(
        db
          .prepare(
            `INSERT INTO documents (source, external_id, kind, title, body, published_at, tags, acl_groups, content_hash, text_hash, first_seen, last_seen)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(source, d.id, d.kind ?? 'post', title, body, d.publishedAt ?? null, JSON.stringify(d.tags ?? []), JSON.stringify(d.acl ?? []), d.id, d.id, now, now)
          .lastInsertRowid,
      );
      const ids: number[] = [];
      d.chunks.forEach((text, ordinal) => {
        const embedText = title ? `${title}\n${text}` : text;
        const hash = createHash('sha256').update(embedText).digest('hex');
        const chunkId = Number(
          db
            .prepare(
              `INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count)
               VALUES (?, ?, ?, ?, ?, 0, ?, ?)`,
            )
            .run(docId, ordinal, text, embedText, hash, text.length, text.length)
            .lastInsertRowid,
        );
        writeChunkTerms(db, chunkId, analyzeForFts(`${title}\n${text}`));
        ids.push(chunkId);
        store.docOf.set(chunkId, d.id);
      });
      store.chunks.set(d.id, ids);
    }
  })();
}

export async function indexAll(store: TestStore, embedder: Embedder): Promise<DenseIndexReader> {
  const { reader } = await buildDenseIndex(store.db, store.dir, embedder, { index: { m: 16, ef_construction: 100, ef_search: 64, keep_versions: 1, reload_interval_ms: 60_000 } });
  return reader;
}

export function retrievalConfig(over: Partial<RetrievalConfig> = {}): { retrieval: RetrievalConfig } {
  return {
    retrieval: {
      top_k: 8,
      candidates: 100,
      rrf_k: 60,
      weights: { dense: 1, bm25: 1 },
      recency: { enabled: true, kinds: ['news'], half_life_days: 180, weight: 0.3 },
      mmr: { enabled: true, lambda: 0.7 },
      max_chunks_per_doc: 2,
      bm25: { max_query_terms: 16, max_term_doc_ratio: 0.1, min_docs_to_drop: 1000, max_postings: 200_000 },
      query_cache_size: 100,
      exact_search: { max_fraction: 0.02, max_chunks: 5000 },
      ...over,
    },
  };
}

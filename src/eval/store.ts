import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeChunkTerms } from '../bm25/index.ts';
import { Bm25Leg } from '../bm25/leg.ts';
import { bm25ParamsOf, type Bm25Params } from '../bm25/scoring.ts';
import { syncBm25Index } from '../bm25/versions.ts';
import type { Config } from '../config/index.ts';
import { EmbeddingCache, embedWithCache } from '../embeddings/cache.ts';
import type { Embedder } from '../embeddings/types.ts';
import { openStore, type DB } from '../store/index.ts';
import { indexTerms } from '../text/analyzer.ts';
import { DenseIndexReader } from '../vector/reader.ts';
import { syncDenseIndex, type SyncReport } from '../vector/versions.ts';
import type { BeirPassage } from './beir.ts';

// A throw-away store for retrieval evaluation. Each passage becomes one document of source
// "eval" with exactly ONE chunk holding the whole passage: the datasets judge passages, so
// splitting them would only add a chunk→passage mapping step without changing what is measured.
// The chunk's BM25 terms are analysed from "title\ntext" and its embedding text is
// "title\ntext" (when chunking.title_prefix), the same as the ingest pipeline does.

export const EVAL_SOURCE = 'eval';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface EvalStore {
  dir: string;
  db: DB;
  /** Closes the database; deletes the folder when it was a temporary one. */
  close(): void;
}

/** Opens a fresh store in `workDir` (must be empty or absent) or in a new temporary folder. */
export function openEvalStore(workDir?: string): EvalStore {
  let dir: string;
  let temporary = false;
  if (workDir) {
    dir = path.resolve(workDir);
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
      throw new Error(`--work ${dir} is not empty: the evaluation builds a fresh store there (choose an empty or new folder)`);
    }
    fs.mkdirSync(dir, { recursive: true });
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-eval-'));
    temporary = true;
  }
  const db = openStore(path.join(dir, 'kb.sqlite'));
  return {
    dir,
    db,
    close() {
      db.close();
      if (temporary) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface IngestOptions {
  titlePrefix: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Writes the passages as documents + one chunk each + BM25 terms. Returns passage id → chunk id. */
export function ingestPassages(db: DB, passages: readonly BeirPassage[], opts: IngestOptions): Map<string, number> {
  const now = new Date().toISOString();
  const chunkOf = new Map<string, number>();
  db.prepare(`INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES (?, 'jsonl', 'eval', 'full')`).run(EVAL_SOURCE);
  const insertDoc = db.prepare(
    `INSERT INTO documents (source, external_id, kind, title, body, content_hash, text_hash, first_seen, last_seen)
     VALUES (?, ?, 'post', ?, ?, ?, ?, ?, ?)`,
  );
  const insertChunk = db.prepare(
    `INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count)
     VALUES (?, 0, ?, ?, ?, 0, ?, ?)`,
  );
  const BATCH = 500;
  for (let i = 0; i < passages.length; i += BATCH) {
    db.transaction(() => {
      for (const p of passages.slice(i, i + BATCH)) {
        const docId = Number(insertDoc.run(EVAL_SOURCE, p.id, p.title, p.text, sha256(`${p.title}\n${p.text}`), sha256(p.text), now, now).lastInsertRowid);
        const embedText = opts.titlePrefix && p.title ? `${p.title}\n${p.text}` : p.text;
        // token_count is informational here (nothing is chunked): a chars/4 estimate.
        const chunkId = Number(insertChunk.run(docId, p.text, embedText, sha256(embedText), p.text.length, Math.ceil(p.text.length / 4)).lastInsertRowid);
        writeChunkTerms(db, chunkId, indexTerms(p.title, p.text));
        chunkOf.set(p.id, chunkId);
      }
    })();
    opts.onProgress?.(Math.min(i + BATCH, passages.length), passages.length);
  }
  return chunkOf;
}

/**
 * Embeds every chunk with `embedder` (through the embedding cache) and builds + activates a dense
 * index version, then returns a reader with it loaded. The embedder must be loaded.
 */
export async function buildDenseIndex(
  db: DB,
  dataDir: string,
  embedder: Embedder,
  config: Pick<Config, 'index'>,
  onProgress?: (done: number) => void,
): Promise<{ reader: DenseIndexReader; report: SyncReport }> {
  const cache = new EmbeddingCache(db);
  const report = await syncDenseIndex({
    db,
    dataDir,
    modelId: embedder.id,
    dim: embedder.dimension,
    params: { m: config.index.m, ef_construction: config.index.ef_construction, ef_search: config.index.ef_search, keep_versions: 1 },
    getVectors: async (chunks) => {
      const { vectors } = await embedWithCache(embedder, cache, chunks.map((c) => ({ hash: c.embed_hash, text: c.embed_text })), { onProgress });
      return vectors;
    },
  });
  const reader = new DenseIndexReader({ db, dataDir, efSearch: config.index.ef_search, reloadIntervalMs: 60_000 });
  await reader.maybeReload({ force: true });
  if (!reader.ready) throw new Error(`dense index was built (version ${report.version_id}) but could not be loaded: ${reader.status().error?.message ?? 'unknown error'}`);
  return { reader, report };
}

/**
 * Builds the BM25 engine version of the eval store with the configured k1/b and returns the leg
 * that serves it — what a deployment serves after its ingestion run. (FTS5, the leg's fallback,
 * only equals the engine at k1 1.2 / b 0.75: evaluating other values needs the engine.)
 */
export function buildBm25Leg(db: DB, dataDir: string, config: Pick<Config, 'retrieval'>): Bm25Leg {
  return buildBm25LegWith(db, dataDir, bm25ParamsOf(config.retrieval.bm25));
}

/** The same with explicit k1/b (bench/analysis.ts compares several on one store). */
export function buildBm25LegWith(db: DB, dataDir: string, params: Bm25Params): Bm25Leg {
  const built = syncBm25Index(db, dataDir, { params, keep: 1 });
  const leg = new Bm25Leg({ db, dataDir, params, reloadIntervalMs: 3_600_000 });
  leg.reload();
  const st = leg.status();
  if (st.version === null) throw new Error(`BM25 index was built but could not be loaded: ${st.error?.message ?? 'unknown error'}`);
  const issue = leg.paramsIssue();
  if (issue || st.version !== built.version_id) throw new Error(`BM25 engine version ${built.version_id} not served as built: ${issue ?? JSON.stringify(st)}`);
  return leg;
}

import { bufferToVector } from '../embeddings/cache.ts';
import type { DB } from '../store/index.ts';
import { cosine, type LegHit } from './fusion.ts';

// Exact dense scoring over a small allowed set. Vectors come from the embedding cache (keyed by
// the embedder id and chunks.embed_hash) rather than from the HNSW file: the cache is the source
// the index was built from, it is addressable by chunk in one SQL query, and it does not depend on
// the index reader exposing per-label vector access.

export interface ExactResult {
  hits: LegHit[];
  /** Allowed chunks without a cached vector for this model (exact search is then incomplete). */
  missing: number;
}

export function loadChunkVectors(db: DB, modelId: string, chunkIds: readonly number[]): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  if (chunkIds.length === 0) return out;
  // json_each keeps the statement fixed whatever the number of ids (no bound-parameter limit).
  const rows = db
    .prepare(
      `SELECT c.id AS id, e.dim AS dim, e.vector AS vector
         FROM json_each(?) j
         JOIN chunks c ON c.id = j.value
         JOIN embedding_cache e ON e.model_id = ? AND e.text_hash = c.embed_hash`,
    )
    .raw(true)
    .all(JSON.stringify(chunkIds), modelId) as Array<[number, number, Buffer]>;
  for (const [id, dim, blob] of rows) {
    const v = bufferToVector(blob);
    if (v.length === dim) out.set(id, v);
  }
  return out;
}

/** Top-k chunks of `chunkIds` by cosine similarity to `query` (score = cosine, best first). */
export function exactDenseSearch(db: DB, modelId: string, query: Float32Array, chunkIds: readonly number[], k: number): ExactResult {
  const vectors = loadChunkVectors(db, modelId, chunkIds);
  const scored: LegHit[] = [];
  for (const [chunkId, v] of vectors) {
    if (v.length === query.length) scored.push({ chunkId, score: cosine(query, v) });
  }
  scored.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  return { hits: scored.slice(0, k), missing: chunkIds.length - scored.length };
}

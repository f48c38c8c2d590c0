// Persistent embedding cache (SQLite table embedding_cache), keyed by (embedder id, text hash):
// re-running the weekly job re-embeds only text it has never embedded with this model.
import type { DB } from '../store/index.ts';
import type { Embedder } from './types.ts';

/** Bytes of a Float32Array (platform byte order, little-endian on every supported host). */
export function vectorToBuffer(vector: Float32Array): Buffer {
  // A copy, so a view into a larger buffer stores only its own bytes.
  return Buffer.from(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
}

/** Float32Array from stored bytes; copies because a Buffer's byteOffset need not be 4-aligned. */
export function bufferToVector(buf: Uint8Array): Float32Array {
  if (buf.byteLength % 4 !== 0) throw new Error(`embedding blob of ${buf.byteLength} bytes is not a Float32 array`);
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

// SQLite's default limit on bound parameters is 32766; stay far below it.
const IN_CHUNK = 500;

export class EmbeddingCache {
  constructor(private readonly db: DB) {}

  /** Cached vectors for the hashes that have one; absent hashes are simply not in the map. */
  getMany(modelId: string, hashes: string[]): Map<string, Float32Array> {
    const found = new Map<string, Float32Array>();
    const unique = [...new Set(hashes)];
    for (let i = 0; i < unique.length; i += IN_CHUNK) {
      const chunk = unique.slice(i, i + IN_CHUNK);
      const rows = this.db
        .prepare(
          `SELECT text_hash, dim, vector FROM embedding_cache WHERE model_id = ? AND text_hash IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(modelId, ...chunk) as { text_hash: string; dim: number; vector: Buffer }[];
      for (const row of rows) {
        const vector = bufferToVector(row.vector);
        // A row whose blob disagrees with its dim is corrupt: treat as a miss so it is re-embedded.
        if (vector.length === row.dim) found.set(row.text_hash, vector);
      }
    }
    return found;
  }

  /** Stores (or replaces) vectors in one transaction. */
  putMany(modelId: string, entries: Iterable<[hash: string, vector: Float32Array]>): number {
    const insert = this.db.prepare(
      'INSERT OR REPLACE INTO embedding_cache (model_id, text_hash, dim, vector) VALUES (?, ?, ?, ?)',
    );
    let n = 0;
    this.db.transaction(() => {
      for (const [hash, vector] of entries) {
        insert.run(modelId, hash, vector.length, vectorToBuffer(vector));
        n++;
      }
    })();
    return n;
  }

  /** Number of cached vectors for a model (operators' reports). */
  count(modelId: string): number {
    return this.db.prepare('SELECT COUNT(*) FROM embedding_cache WHERE model_id = ?').pluck().get(modelId) as number;
  }
}

export interface EmbedItem {
  /** Hash of `text` (the cache key), e.g. chunks.embed_hash. */
  hash: string;
  text: string;
}

export interface EmbedWithCacheOptions {
  /** Misses per embedding call and per cache commit; default: the embedder's `batchSize`, else 32. */
  batchSize?: number;
  /**
   * Called with the number of ITEMS newly completed (a delta, duplicates of a hash included):
   * once for all cache hits, then after each embedded batch. Suits `bar.tick(n)`.
   */
  onProgress?: (completed: number) => void;
}

export interface EmbedWithCacheResult {
  /** hash → vector for every item. */
  vectors: Map<string, Float32Array>;
  /** Unique hashes found in the cache / embedded now. */
  stats: { hits: number; misses: number };
}

/**
 * Vectors for every item: cache hits are read, misses are embedded as passages in batches and
 * each batch is committed to the cache as soon as it is embedded, so a crash loses at most the
 * batch in flight. Items sharing a hash are embedded once.
 */
export async function embedWithCache(
  embedder: Embedder,
  cache: EmbeddingCache,
  items: EmbedItem[],
  options: EmbedWithCacheOptions = {},
): Promise<EmbedWithCacheResult> {
  const texts = new Map<string, string>();
  const itemsPerHash = new Map<string, number>();
  for (const item of items) {
    if (!texts.has(item.hash)) texts.set(item.hash, item.text);
    itemsPerHash.set(item.hash, (itemsPerHash.get(item.hash) ?? 0) + 1);
  }
  const itemCount = (hashes: Iterable<string>) => {
    let n = 0;
    for (const h of hashes) n += itemsPerHash.get(h) ?? 0;
    return n;
  };

  const vectors = cache.getMany(embedder.id, [...texts.keys()]);
  const hits = vectors.size;
  const missing = [...texts.keys()].filter((h) => !vectors.has(h));
  if (hits > 0) options.onProgress?.(itemCount(vectors.keys()));

  const batchSize = Math.max(1, options.batchSize ?? (embedder as { batchSize?: number }).batchSize ?? 32);
  for (let i = 0; i < missing.length; i += batchSize) {
    const hashes = missing.slice(i, i + batchSize);
    const embedded = await embedder.embedPassages(hashes.map((h) => texts.get(h)!));
    if (embedded.length !== hashes.length) {
      throw new Error(`embedder ${embedder.id} returned ${embedded.length} vectors for ${hashes.length} texts`);
    }
    const batch = hashes.map((h, j) => [h, embedded[j]] as [string, Float32Array]);
    cache.putMany(embedder.id, batch);
    for (const [h, v] of batch) vectors.set(h, v);
    options.onProgress?.(itemCount(hashes));
  }
  return { vectors, stats: { hits, misses: missing.length } };
}

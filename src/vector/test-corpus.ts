// Test support for src/vector tests (imported only by *.test.ts): deterministic vectors and a
// small chunks table driven the way ingestion drives it.
import { createRng } from '../util/rng.ts';
import type { DB } from '../store/index.ts';
import type { ChunkToEmbed } from './versions.ts';

/** A seeded PRNG so tests are reproducible. */
export const prng = createRng;

export function randomVectors(n: number, dim: number, seed: number): Float32Array[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => r() * 2 - 1));
}

function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The "embedding" of a text under a model: deterministic, different per model. */
export function vectorFor(model: string, embedHash: string, dim: number): Float32Array {
  return randomVectors(1, dim, hashSeed(`${model}|${embedHash}`))[0];
}

/** A getVectors that embeds deterministically, counts calls and can be told to fail. */
export function makeGetVectors(model: string, dim: number, hooks: { failOnCall?: number; beforeCall?: (n: number) => void | Promise<void> } = {}) {
  let calls = 0;
  const seen: number[] = [];
  const fn = async (chunks: ChunkToEmbed[]): Promise<Map<string, Float32Array>> => {
    calls += 1;
    await hooks.beforeCall?.(calls);
    if (hooks.failOnCall === calls) throw new Error(`embedding endpoint failed on call ${calls}`);
    const out = new Map<string, Float32Array>();
    for (const c of chunks) {
      seen.push(c.id);
      out.set(c.embed_hash, vectorFor(model, c.embed_hash, dim));
    }
    return out;
  };
  return Object.assign(fn, { calls: () => calls, seen });
}

/** Chunks table fixture; removal follows the ingestion contract (retire if labelled, else delete). */
export class Corpus {
  private next = 1;
  constructor(readonly db: DB) {
    db.prepare("INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES ('test', 'jsonl', 'x.jsonl', 'full')").run();
  }

  /** Adds one document with `n` chunks; returns the chunk ids. */
  addDocument(n: number): number[] {
    const doc = this.next++;
    this.db
      .prepare(
        "INSERT INTO documents (id, source, external_id, kind, body, content_hash, text_hash, first_seen, last_seen) VALUES (?, 'test', ?, 'news', 'b', 'c', 't', 'now', 'now')",
      )
      .run(doc, `doc-${doc}`);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(this.addChunk(doc, `text ${doc}.${i}`));
    return ids;
  }

  addChunk(documentId: number, text: string): number {
    const r = this.db
      .prepare(
        'INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, 0, ?, ?, ?, 0, 1, 1)',
      )
      .run(documentId, text, text, `h:${text}`);
    return Number(r.lastInsertRowid);
  }

  removeChunk(id: number): void {
    const labelled = this.db.prepare('SELECT vector_label FROM chunks WHERE id = ?').pluck().get(id);
    if (labelled !== null && labelled !== undefined) this.db.prepare("UPDATE chunks SET retired_at = 'now' WHERE id = ?").run(id);
    else this.db.prepare('DELETE FROM chunks WHERE id = ?').run(id);
  }

  /** An edited chunk: the old one goes, a new one with new text (new id) arrives. */
  changeChunk(id: number): number {
    const doc = this.db.prepare('SELECT document_id FROM chunks WHERE id = ?').pluck().get(id) as number;
    this.removeChunk(id);
    return this.addChunk(doc, `edited ${id}`);
  }

  labelled(): number[] {
    return this.db.prepare('SELECT id FROM chunks WHERE vector_label IS NOT NULL ORDER BY id').pluck().all() as number[];
  }

  snapshot(): unknown {
    return {
      chunks: this.db.prepare('SELECT * FROM chunks ORDER BY id').all(),
      versions: this.db.prepare('SELECT * FROM index_versions ORDER BY id').all(),
    };
  }
}

import type { Config } from '../src/config/index.ts';
import type { DB } from '../src/store/index.ts';
import { bandHashes, estimateJaccard, MinHasher, signatureFromBuffer } from '../src/text/dedupe/minhash.ts';

// Exact duplicates: same normalised-body hash as a live document. Near duplicates (syndicated
// copies, reposts): MinHash signatures bucketed by LSH bands; candidates sharing a bucket are
// confirmed by their estimated Jaccard similarity. Signatures and buckets are stored with the
// document, so next week's documents are compared against everything already indexed.

export interface DuplicateCheck {
  duplicate: { reason: 'exact_duplicate' | 'near_duplicate'; detail: string; of: number } | null;
  signature: Uint32Array | null;
  buckets: number[] | null;
}

export class DuplicateFinder {
  private readonly byHash;
  private readonly candidates;
  private readonly sigOf;
  private readonly hasher: MinHasher;

  constructor(
    db: DB,
    private readonly opts: Config['dedupe'],
  ) {
    this.byHash = db.prepare(
      'SELECT id, source, external_id FROM documents WHERE text_hash = ? AND deleted_at IS NULL AND id != ? LIMIT 1',
    );
    this.candidates = db.prepare('SELECT DISTINCT document_id FROM document_lsh WHERE band = ? AND bucket = ? AND document_id != ? LIMIT 50');
    this.hasher = new MinHasher({ num_perm: opts.num_perm, shingle_size: opts.shingle_size });
    this.sigOf = db.prepare('SELECT source, external_id, minhash FROM documents WHERE id = ? AND deleted_at IS NULL');
  }

  /** selfId: the stored version of the same record, which must not count as its own duplicate. */
  check(textHash: string, body: string, selfId = -1): DuplicateCheck {
    const exact = this.byHash.get(textHash, selfId) as { id: number; source: string; external_id: string } | undefined;
    if (exact) {
      return {
        duplicate: { reason: 'exact_duplicate', detail: `same text as ${exact.source}/${exact.external_id} (document ${exact.id})`, of: exact.id },
        signature: null,
        buckets: null,
      };
    }
    if (!this.opts.near_duplicates) return { duplicate: null, signature: null, buckets: null };
    const sig = this.hasher.signature(body);
    const buckets = bandHashes(sig, this.opts.bands);
    const seen = new Set<number>();
    let best: { id: number; j: number; name: string } | null = null;
    buckets.forEach((bucket, band) => {
      for (const id of this.candidates.pluck().all(band, bucket, selfId) as number[]) {
        if (seen.has(id)) continue;
        seen.add(id);
        const row = this.sigOf.get(id) as { source: string; external_id: string; minhash: Buffer | null } | undefined;
        if (!row?.minhash) continue;
        const other = signatureFromBuffer(row.minhash);
        const j = estimateJaccard(sig, other);
        if (j >= this.opts.threshold && (!best || j > best.j)) best = { id, j, name: `${row.source}/${row.external_id}` };
      }
    });
    if (best) {
      const b = best as { id: number; j: number; name: string };
      return {
        duplicate: { reason: 'near_duplicate', detail: `estimated Jaccard ${b.j.toFixed(2)} with ${b.name} (document ${b.id})`, of: b.id },
        signature: sig,
        buckets,
      };
    }
    return { duplicate: null, signature: sig, buckets };
  }
}

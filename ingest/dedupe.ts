import type { Config } from '../src/config/index.ts';
import type { DB } from '../src/store/index.ts';
import { bandHashes, estimateJaccard, MinHasher, signatureFromBuffer } from '../src/text/dedupe/minhash.ts';

// Exact duplicates: same normalised-body hash as a live document. Near duplicates (syndicated
// copies, reposts): MinHash signatures bucketed by LSH bands; candidates sharing a bucket are
// confirmed by their estimated Jaccard similarity. Signatures and buckets are stored with the
// document, so next week's documents are compared against everything already indexed.

/** A stored document a new record may duplicate. */
export interface Candidate {
  id: number;
  source: string;
  external_id: string;
  last_run_id: number | null;
}

/**
 * Whether a candidate counts as the original: 'counts'; 'ignore' (e.g. about to be deleted);
 * 'pending' (not known yet: a full snapshot's document this run has not reached — the record
 * is deferred until the source has been read, so a copy is never discarded in favour of an
 * original that then disappears).
 */
export type CandidatePolicy = (c: Candidate) => 'counts' | 'ignore' | 'pending';

export interface DuplicateCheck {
  duplicate: { reason: 'exact_duplicate' | 'near_duplicate'; detail: string; of: number } | null;
  /** Only 'pending' candidates matched: decide again once the source has been read. */
  deferred: boolean;
  signature: Uint32Array | null;
  buckets: number[] | null;
}

const countsAll: CandidatePolicy = () => 'counts';
/** Signatures checked per record at most (the candidates sharing the most LSH buckets). */
const MAX_CANDIDATES = 20;
/** Rows read per LSH bucket at most. */
const BUCKET_SCAN = 200;

export class DuplicateFinder {
  private readonly byHash;
  private readonly candidates;
  private readonly sigOf;
  private readonly hasher: MinHasher;
  private readonly minBands: number;

  constructor(
    db: DB,
    private readonly opts: Config['dedupe'],
  ) {
    this.byHash = db.prepare(
      'SELECT id, source, external_id, last_run_id FROM documents WHERE text_hash = ? AND deleted_at IS NULL AND id != ? LIMIT 20',
    );
    const rows = opts.num_perm / opts.bands;
    this.minBands = Math.max(1, Math.floor(0.5 * opts.bands * opts.threshold ** rows));
    // Each band reads at most BUCKET_SCAN rows: templated text makes a few buckets huge, and a
    // true near duplicate shares many buckets, so it is still found through the others.
    const perBand = `SELECT document_id FROM (SELECT document_id FROM document_lsh WHERE band = ? AND bucket = ? AND document_id != ? LIMIT ${BUCKET_SCAN})`;
    this.candidates = db.prepare(
      `SELECT document_id FROM (${Array.from({ length: opts.bands }, () => perBand).join(' UNION ALL ')})
        GROUP BY document_id HAVING count(*) >= ? ORDER BY count(*) DESC LIMIT ${MAX_CANDIDATES}`,
    );
    this.hasher = new MinHasher({ num_perm: opts.num_perm, shingle_size: opts.shingle_size });
    this.sigOf = db.prepare('SELECT id, source, external_id, last_run_id, minhash FROM documents WHERE id = ? AND deleted_at IS NULL');
  }

  /** selfId: the stored version of the same record, which must not count as its own duplicate. */
  check(textHash: string, body: string, selfId = -1, policy: CandidatePolicy = countsAll): DuplicateCheck {
    let pending = false;
    for (const row of this.byHash.all(textHash, selfId) as Candidate[]) {
      const verdict = policy(row);
      if (verdict === 'pending') pending = true;
      if (verdict !== 'counts') continue;
      return {
        duplicate: { reason: 'exact_duplicate', detail: `same text as ${row.source}/${row.external_id} (document ${row.id})`, of: row.id },
        deferred: false,
        signature: null,
        buckets: null,
      };
    }
    if (!this.opts.near_duplicates) return { duplicate: null, deferred: pending, signature: null, buckets: null };
    const sig = this.hasher.signature(body);
    const buckets = bandHashes(sig, this.opts.bands);
    // One query finds the documents sharing at least `minBands` buckets, most shared first; only
    // those are confirmed with their signatures. A pair at the threshold shares
    // bands × threshold^rows buckets on average; requiring half of that drops the many weak
    // candidates (templated text shares a few bands with everything) at a negligible miss rate.
    let best: { row: Candidate; j: number } | null = null;
    for (const id of this.findCandidates(buckets, selfId)) {
      const row = this.sigOf.get(id) as (Candidate & { minhash: Buffer | null }) | undefined;
      if (!row?.minhash) continue;
      const j = estimateJaccard(sig, signatureFromBuffer(row.minhash));
      if (j < this.opts.threshold) continue;
      const verdict = policy(row);
      if (verdict === 'pending') pending = true;
      if (verdict === 'counts' && (!best || j > best.j)) best = { row, j };
    }
    if (best) {
      const { row, j } = best as { row: Candidate; j: number };
      return {
        duplicate: { reason: 'near_duplicate', detail: `estimated Jaccard ${j.toFixed(2)} with ${row.source}/${row.external_id} (document ${row.id})`, of: row.id },
        deferred: false,
        signature: sig,
        buckets,
      };
    }
    return { duplicate: null, deferred: pending, signature: sig, buckets };
  }

  private findCandidates(buckets: number[], selfId: number): number[] {
    const params: number[] = [];
    buckets.forEach((bucket, band) => params.push(band, bucket, selfId));
    return this.candidates.pluck().all(...params, this.minBands) as number[];
  }
}

import { normalizeText } from '../normalize.ts';

/**
 * MinHash near-duplicate detection over character shingles, with LSH banding.
 *
 * Shingling choice: shingles are k consecutive code points of the normalised, lower-cased text
 * with ALL whitespace removed. Character shingles work for Chinese (no word boundaries) and
 * English alike, and dropping whitespace makes re-wrapped or re-spaced reposts (a common
 * difference between syndicated copies) produce identical shingles.
 *
 * Hashing: each distinct shingle is hashed once with murmur3 (x86, 32-bit) over its UTF-16 code
 * units; permutation i is then fmix32(a_i * h + b_i mod 2^32) with odd a_i and b_i drawn from a
 * seeded PRNG. x -> a*x+b (a odd) and fmix32 are both bijections on 32-bit integers, so every
 * permutation is a true permutation of the hash space, and fmix32's avalanche removes the weak
 * low bits of the affine step. Everything is deterministic for a given seed: signatures stored in
 * the database stay comparable across runs as long as seed, num_perm and shingle size are fixed.
 */

export const DEFAULT_MINHASH_SEED = 0x5eed_1234;

export interface MinHashOptions {
  /** Number of permutations = signature length. */
  num_perm: number;
  /** Shingle length in code points. */
  shingle_size: number;
  /** PRNG seed for the permutation parameters; changing it invalidates stored signatures. */
  seed?: number;
}

/** Lower-cased normalised text with every whitespace character removed (the shingling input). */
export function shingleSource(text: string): string {
  return normalizeText(text).toLowerCase().replace(/\s+/g, '');
}

/**
 * Distinct k-code-point shingles. Text shorter than k (but non-empty) is one shingle, so short
 * texts still get a meaningful signature; empty text has no shingles.
 */
export function shingles(text: string, k: number): Set<string> {
  if (!Number.isInteger(k) || k < 1) throw new Error(`shingle size must be a positive integer, got ${k}`);
  const chars = Array.from(shingleSource(text));
  const out = new Set<string>();
  if (chars.length === 0) return out;
  if (chars.length <= k) {
    out.add(chars.join(''));
    return out;
  }
  for (let i = 0; i + k <= chars.length; i++) out.add(chars.slice(i, i + k).join(''));
  return out;
}

/** Exact Jaccard similarity of the two texts' shingle sets (for tests and threshold tuning). */
export function exactJaccard(a: string, b: string, k: number): number {
  const sa = shingles(a, k);
  const sb = shingles(b, k);
  if (sa.size === 0 && sb.size === 0) return 1;
  let inter = 0;
  for (const s of sa) if (sb.has(s)) inter++;
  return inter / (sa.size + sb.size - inter);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3 x86 32-bit over the string's UTF-16 code units (two units per 32-bit block). */
export function murmur3(s: string, seed = 0): number {
  let h = seed >>> 0;
  const len = s.length;
  let i = 0;
  for (; i + 1 < len; i += 2) {
    let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < len) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len * 2; // length in bytes
  return fmix32(h);
}

/** mulberry32: small, fast, deterministic PRNG for the permutation parameters. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export class MinHasher {
  readonly numPerm: number;
  readonly shingleSize: number;
  readonly seed: number;
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;

  constructor(opts: MinHashOptions) {
    if (!Number.isInteger(opts.num_perm) || opts.num_perm < 1) {
      throw new Error(`num_perm must be a positive integer, got ${opts.num_perm}`);
    }
    if (!Number.isInteger(opts.shingle_size) || opts.shingle_size < 1) {
      throw new Error(`shingle_size must be a positive integer, got ${opts.shingle_size}`);
    }
    this.numPerm = opts.num_perm;
    this.shingleSize = opts.shingle_size;
    this.seed = opts.seed ?? DEFAULT_MINHASH_SEED;
    const rand = mulberry32(this.seed);
    this.a = new Uint32Array(this.numPerm);
    this.b = new Uint32Array(this.numPerm);
    for (let i = 0; i < this.numPerm; i++) {
      this.a[i] = (rand() | 1) >>> 0; // odd multiplier: x -> a*x is a bijection mod 2^32
      this.b[i] = rand();
    }
  }

  /**
   * MinHash signature (length num_perm). An empty text gets all-0xFFFFFFFF (the empty set);
   * two empty texts therefore estimate as identical — callers reject empty bodies before this.
   */
  signature(text: string): Uint32Array {
    const sig = new Uint32Array(this.numPerm).fill(0xffffffff);
    const { a, b, numPerm } = this;
    for (const shingle of shingles(text, this.shingleSize)) {
      const h = murmur3(shingle);
      for (let i = 0; i < numPerm; i++) {
        const v = fmix32((Math.imul(a[i]!, h) + b[i]!) | 0);
        if (v < sig[i]!) sig[i] = v;
      }
    }
    return sig;
  }
}

/** Fraction of equal signature positions: an unbiased estimate of the Jaccard similarity. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) {
    throw new Error(`signature lengths differ (${a.length} vs ${b.length}): different num_perm settings`);
  }
  if (a.length === 0) return 0;
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
  return equal / a.length;
}

/**
 * LSH banding: the signature is cut into `bands` bands of num_perm/bands rows; each band hashes
 * to one unsigned 32-bit bucket (stored as SQLite INTEGER). Two documents are candidates when
 * they share a bucket in the same band; with r rows per band the probability of that is
 * 1 - (1 - J^r)^bands. The band index seeds the hash so equal rows in different bands give
 * different buckets.
 */
export function bandHashes(sig: Uint32Array, bands: number): number[] {
  if (!Number.isInteger(bands) || bands < 1 || sig.length % bands !== 0) {
    throw new Error(`bands (${bands}) must be a positive divisor of the signature length (${sig.length})`);
  }
  const rows = sig.length / bands;
  const out: number[] = [];
  for (let band = 0; band < bands; band++) {
    out.push(murmur3Words(sig, band * rows, rows, band));
  }
  return out;
}

/** murmur3 x86 32-bit over `count` 32-bit words of `words` starting at `start`. */
function murmur3Words(words: Uint32Array, start: number, count: number, seed: number): number {
  let h = seed >>> 0;
  for (let i = start; i < start + count; i++) {
    let k = Math.imul(words[i]!, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= count * 4;
  return fmix32(h);
}

/** Signature → little-endian bytes for the documents.minhash BLOB. */
export function signatureToBuffer(sig: Uint32Array): Buffer {
  const buf = Buffer.alloc(sig.length * 4);
  for (let i = 0; i < sig.length; i++) buf.writeUInt32LE(sig[i]!, i * 4);
  return buf;
}

/** Inverse of signatureToBuffer; rejects a BLOB whose size is not a whole number of words. */
export function signatureFromBuffer(buf: Uint8Array): Uint32Array {
  if (buf.byteLength % 4 !== 0) throw new Error(`MinHash BLOB has ${buf.byteLength} bytes, not a multiple of 4`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const sig = new Uint32Array(buf.byteLength / 4);
  for (let i = 0; i < sig.length; i++) sig[i] = view.getUint32(i * 4, true);
  return sig;
}

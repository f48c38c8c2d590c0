import type { DocumentKind } from '../config/index.ts';
import type { LegScore, ScoreBreakdown } from './types.ts';

// Pure ranking math: weighted reciprocal-rank fusion, recency preference, MMR diversification and
// the per-document cap. No I/O here, so every rule is unit-testable with hand-made lists.

/** One leg's result in rank order (best first). */
export interface LegHit {
  chunkId: number;
  score: number;
}

export interface FusedScore {
  dense: LegScore | null;
  bm25: LegScore | null;
  rrf: number;
}

/**
 * Weighted RRF: rrf(c) = Σ_leg weight_leg / (k + rank_leg(c)). Ranks, not raw scores, are fused
 * because cosine similarities and BM25 scores live on unrelated scales.
 */
export function rrfFuse(
  legs: { dense: readonly LegHit[] | null; bm25: readonly LegHit[] | null },
  weights: { dense: number; bm25: number },
  k: number,
): Map<number, FusedScore> {
  const out = new Map<number, FusedScore>();
  for (const leg of ['dense', 'bm25'] as const) {
    const hits = legs[leg];
    if (!hits) continue;
    const seen = new Set<number>();
    let rank = 0;
    for (const h of hits) {
      if (seen.has(h.chunkId)) continue; // a leg counts each chunk once, at its best rank
      seen.add(h.chunkId);
      rank++;
      const entry = out.get(h.chunkId) ?? { dense: null, bm25: null, rrf: 0 };
      entry[leg] = { rank, score: h.score };
      entry.rrf += weights[leg] / (k + rank);
      out.set(h.chunkId, entry);
    }
  }
  return out;
}

export interface RecencyOptions {
  enabled: boolean;
  kinds: readonly DocumentKind[];
  halfLifeDays: number;
  weight: number;
}

const DAY_MS = 86_400_000;

/**
 * Multiplier 1 - w + w * 2^(-age/halfLife) for the configured kinds, 1 otherwise. Unknown dates and
 * future dates count as age 0: missing metadata must not bury a document.
 */
export function recencyMultiplier(kind: DocumentKind, publishedMs: number | null, nowMs: number, opts: RecencyOptions): number {
  if (!opts.enabled || opts.weight === 0 || !opts.kinds.includes(kind)) return 1;
  const ageDays = publishedMs === null || !Number.isFinite(publishedMs) ? 0 : Math.max(0, (nowMs - publishedMs) / DAY_MS);
  return 1 - opts.weight + opts.weight * Math.pow(2, -ageDays / opts.halfLifeDays);
}

/** A fused candidate with what the re-ranking needs. */
export interface Candidate {
  chunkId: number;
  docId: number;
  kind: DocumentKind;
  publishedMs: number | null;
  text: string;
  /** Chunk embedding when known (enables cosine similarity in MMR). */
  vector: Float32Array | null;
  fused: FusedScore;
}

export interface RankedCandidate extends Candidate {
  score: ScoreBreakdown;
}

export interface RerankOptions {
  topK: number;
  recency: RecencyOptions;
  mmr: { enabled: boolean; lambda: number };
  /** 0 = no cap. */
  maxChunksPerDoc: number;
  nowMs: number;
}

// CJK code point ranges: kana, CJK ideographs (+ extension A, compatibility, supplementary), Hangul.
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x3040 && cp <= 0x30ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xac00 && cp <= 0xd7af) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x20000 && cp <= 0x3134f)
  );
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const PLANE = 0x110000;
const WORD_BASE = 2 ** 43; // above every CJK code: words and CJK tokens never collide

/**
 * Token set used by the text similarity, as sorted unique numbers: lowercased words (32-bit FNV-1a
 * hashes) and character bigrams inside CJK runs (Chinese has no spaces; bigrams are a
 * dictionary-free stand-in for words; a one-character run counts as itself). Numbers instead of
 * strings because MMR compares every candidate with every pick.
 */
export function similarityTokens(text: string): Float64Array {
  const out: number[] = [];
  let prev = -1; // previous code point of the current CJK run
  let runLen = 0;
  let hash = 0x811c9dc5;
  let wordLen = 0;
  const endRun = () => {
    if (runLen === 1) out.push(prev);
    prev = -1;
    runLen = 0;
  };
  const endWord = () => {
    if (wordLen > 0) out.push(WORD_BASE + (hash >>> 0));
    hash = 0x811c9dc5;
    wordLen = 0;
  };
  for (const ch of text) {
    let cp = ch.codePointAt(0)!;
    if (isCjk(cp)) {
      endWord();
      if (prev >= 0) out.push(prev * PLANE + cp);
      prev = cp;
      runLen++;
      continue;
    }
    endRun();
    const ascii = cp < 0x80;
    if (ascii ? (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) : LETTER_OR_DIGIT.test(ch)) {
      if (ascii) {
        if (cp >= 0x41 && cp <= 0x5a) cp += 32;
      } else {
        cp = ch.toLowerCase().codePointAt(0)!;
      }
      hash = Math.imul(hash ^ cp, 0x01000193);
      wordLen++;
    } else {
      endWord();
    }
  }
  endRun();
  endWord();
  const sorted = Float64Array.from(out).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i];
  return sorted.subarray(0, n);
}

/** Jaccard similarity of two sorted unique token arrays (0 when both are empty). */
export function jaccard(a: Float64Array, b: Float64Array): number {
  if (a.length === 0 && b.length === 0) return 0;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return inter / (a.length + b.length - inter);
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

const MMR_POOL_MIN = 30;
const MMR_POOL_FACTOR = 3;

/**
 * Applies recency, then picks topK hits greedily: plain score order, or MMR
 * (λ·relevance − (1−λ)·max similarity to the already picked hits) when enabled, skipping a
 * candidate whose document already holds maxChunksPerDoc picks. Relevance is the final score
 * divided by the best one, so it shares the [0, 1] scale of the similarities.
 */
export function rerank(candidates: readonly Candidate[], opts: RerankOptions): RankedCandidate[] {
  const scored: RankedCandidate[] = candidates.map((c) => {
    const recency = recencyMultiplier(c.kind, c.publishedMs, opts.nowMs, opts.recency);
    const fused = c.fused.rrf * recency;
    return { ...c, score: { dense: c.fused.dense, bm25: c.fused.bm25, rrf: c.fused.rrf, recency, fused } };
  });
  // Ties broken by chunk id so the order never depends on input order.
  scored.sort((a, b) => b.score.fused - a.score.fused || a.chunkId - b.chunkId);

  const perDoc = new Map<number, number>();
  const capped = (c: RankedCandidate) => opts.maxChunksPerDoc > 0 && (perDoc.get(c.docId) ?? 0) >= opts.maxChunksPerDoc;
  const picked: RankedCandidate[] = [];
  const take = (c: RankedCandidate) => {
    picked.push(c);
    perDoc.set(c.docId, (perDoc.get(c.docId) ?? 0) + 1);
  };

  if (!opts.mmr.enabled || opts.mmr.lambda >= 1) {
    for (const c of scored) {
      if (picked.length >= opts.topK) break;
      if (!capped(c)) take(c);
    }
    return picked;
  }

  const best = scored.length > 0 ? scored[0].score.fused : 0;
  const tokens = new Map<number, Float64Array>();
  const tokensOf = (c: RankedCandidate) => {
    let t = tokens.get(c.chunkId);
    if (!t) tokens.set(c.chunkId, (t = similarityTokens(c.text)));
    return t;
  };
  const similarity = (a: RankedCandidate, b: RankedCandidate) =>
    a.vector && b.vector && a.vector.length === b.vector.length ? cosine(a.vector, b.vector) : jaccard(tokensOf(a), tokensOf(b));

  const lambda = opts.mmr.lambda;
  // MMR looks at the best few candidates only (like fetch_k elsewhere): far below the top, a
  // candidate cannot win on relevance anyway, and every pick costs one similarity per candidate.
  const poolSize = Math.max(MMR_POOL_MIN, opts.topK * MMR_POOL_FACTOR);
  // maxSim[i] = highest similarity of remaining candidate i to any picked hit, updated per pick.
  const remaining = scored.slice(0, poolSize);
  const maxSim = new Float64Array(remaining.length);
  const alive = new Uint8Array(remaining.length).fill(1);
  while (picked.length < opts.topK) {
    let bestIdx = -1;
    let bestVal = -Infinity;
    for (let i = 0; i < remaining.length; i++) {
      if (!alive[i]) continue;
      if (capped(remaining[i])) {
        alive[i] = 0;
        continue;
      }
      const rel = best > 0 ? remaining[i].score.fused / best : 0;
      const val = lambda * rel - (1 - lambda) * maxSim[i];
      if (val > bestVal) {
        bestVal = val;
        bestIdx = i;
      }
    }
    if (bestIdx < 0) break;
    const chosen = remaining[bestIdx];
    alive[bestIdx] = 0;
    take(chosen);
    for (let i = 0; i < remaining.length; i++) {
      if (!alive[i]) continue;
      const s = similarity(chosen, remaining[i]);
      if (s > maxSim[i]) maxSim[i] = s;
    }
  }
  // The pool ran dry (per-document cap, or few candidates): continue in score order.
  for (const c of scored.slice(poolSize)) {
    if (picked.length >= opts.topK) break;
    if (!capped(c)) take(c);
  }
  return picked;
}

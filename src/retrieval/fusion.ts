import type { DocumentKind } from '../config/index.ts';
import type { ExactMatch } from './exact-match.ts';
import type { LegScore, ScoreBreakdown, ScoreMove } from './types.ts';

// Pure ranking math: fusion of the two legs (weighted reciprocal-rank fusion, or a convex
// combination of normalised scores), recency preference (time-sensitive questions), reranker
// order, exact matches first, the per-document cap and MMR over near-duplicates.
// No I/O here, so every rule is unit-testable with hand-made lists.

/** One leg's result in rank order (best first). */
export interface LegHit {
  chunkId: number;
  score: number;
}

export type FusionMethod = 'rrf' | 'convex';

export interface FusedScore {
  dense: LegScore | null;
  bm25: LegScore | null;
  /** Which fusion produced `score`. */
  method: FusionMethod;
  /** The fused score, = parts.dense + parts.bm25. */
  score: number;
  /**
   * Each leg's term of `score`: rrf weight / (k + rank); convex α × normalised cosine and
   * (1 − α) × normalised BM25. 0 for a leg that did not return the chunk.
   */
  parts: { dense: number; bm25: number };
}

type Legs = { dense: readonly LegHit[] | null; bm25: readonly LegHit[] | null };

/** Each chunk once per leg, at its best rank (1-based). */
function eachOnce(hits: readonly LegHit[], visit: (h: LegHit, rank: number) => void): void {
  const seen = new Set<number>();
  let rank = 0;
  for (const h of hits) {
    if (seen.has(h.chunkId)) continue;
    seen.add(h.chunkId);
    visit(h, ++rank);
  }
}

const entryOf = (out: Map<number, FusedScore>, chunkId: number, method: FusionMethod): FusedScore => {
  let e = out.get(chunkId);
  if (!e) out.set(chunkId, (e = { dense: null, bm25: null, method, score: 0, parts: { dense: 0, bm25: 0 } }));
  return e;
};

/**
 * Weighted RRF: rrf(c) = Σ_leg weight_leg / (k + rank_leg(c)). Ranks, not raw scores, are fused
 * because cosine similarities and BM25 scores live on unrelated scales.
 */
export function rrfFuse(legs: Legs, weights: { dense: number; bm25: number }, k: number): Map<number, FusedScore> {
  const out = new Map<number, FusedScore>();
  for (const leg of ['dense', 'bm25'] as const) {
    const hits = legs[leg];
    if (!hits) continue;
    eachOnce(hits, (h, rank) => {
      const entry = entryOf(out, h.chunkId, 'rrf');
      entry[leg] = { rank, score: h.score };
      entry.parts[leg] = weights[leg] / (k + rank);
      entry.score += entry.parts[leg];
    });
  }
  return out;
}

/**
 * The lowest score each leg can produce: the floor of the theoretical-min-max normalisation
 * (Bruch et al. 2023, "An Analysis of Fusion Functions for Hybrid Retrieval"). BM25 scores are
 * ≥ 0; a cosine similarity is ≥ −1.
 */
export const THEORETICAL_MIN = { dense: -1, bm25: 0 } as const;

/**
 * Convex combination of normalised scores: α · norm(cosine) + (1 − α) · norm(bm25), with
 * norm(s) = (s − theoretical min) / (the leg's top score − theoretical min), clamped to [0, 1].
 * Unlike rank fusion it keeps how far apart the scores are: a passage far ahead on BM25 stays
 * ahead unless the dense leg disagrees strongly. A chunk missing from a leg gets that leg's
 * normalised minimum (0). When only one leg ran (the other is null: bm25/dense mode, or a
 * degraded leg) the fused score is that leg's normalised score alone, so the order is the leg's.
 * A leg whose top score is its theoretical minimum carries no evidence: it contributes 0.
 */
export function convexFuse(legs: Legs, alpha: number): Map<number, FusedScore> {
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`convex fusion alpha must be in [0, 1], got ${alpha}`);
  const weight = {
    dense: legs.bm25 === null ? 1 : legs.dense === null ? 0 : alpha,
    bm25: legs.dense === null ? 1 : legs.bm25 === null ? 0 : 1 - alpha,
  };
  const out = new Map<number, FusedScore>();
  for (const leg of ['dense', 'bm25'] as const) {
    const hits = legs[leg];
    if (!hits) continue;
    const min = THEORETICAL_MIN[leg];
    let max = -Infinity;
    for (const h of hits) if (h.score > max) max = h.score;
    const span = max - min;
    eachOnce(hits, (h, rank) => {
      const entry = entryOf(out, h.chunkId, 'convex');
      entry[leg] = { rank, score: h.score };
      const norm = span > 0 && Number.isFinite(span) ? Math.min(1, Math.max(0, (h.score - min) / span)) : 0;
      entry.parts[leg] = weight[leg] * norm;
      entry.score += entry.parts[leg];
    });
  }
  return out;
}

/** The configured fusion. */
export function fuse(
  legs: Legs,
  opts: { method: FusionMethod; weights: { dense: number; bm25: number }; rrfK: number; alpha: number },
): Map<number, FusedScore> {
  return opts.method === 'convex' ? convexFuse(legs, opts.alpha) : rrfFuse(legs, opts.weights, opts.rrfK);
}

/**
 * The fused order: score, then the chunk's best rank in any leg (equal convex scores, e.g. ties in
 * a single leg, keep that leg's order), then chunk id, so the order never depends on input order.
 */
export function compareFused(a: { chunkId: number; fused: FusedScore }, b: { chunkId: number; fused: FusedScore }): number {
  return b.fused.score - a.fused.score || bestRank(a.fused) - bestRank(b.fused) || a.chunkId - b.chunkId;
}

function bestRank(f: FusedScore): number {
  return Math.min(f.dense?.rank ?? Infinity, f.bm25?.rank ?? Infinity);
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
  fused: FusedScore;
  /** Exact title / phrase match of the query (exact-match.ts), or null. */
  exact?: ExactMatch | null;
  /** Reranker (cross-encoder) score when the candidate was in the reranked head. */
  rerank?: number | null;
}

export interface RankedCandidate extends Candidate {
  score: Required<ScoreBreakdown>;
}

export interface RerankOptions {
  topK: number;
  recency: RecencyOptions;
  /** Apply the recency preference: the question asks about time (time-sensitive.ts) or recency.apply is 'always'. */
  timeSensitive: boolean;
  /**
   * MMR over near-duplicates: a candidate is penalised by (1 − lambda) × its highest similarity to
   * an already picked hit, but only when that similarity is ≥ minSimilarity. Relevance is the
   * candidate's position in the ranking (1 for the first, minus 1/max(30, 3·topK) per position).
   */
  mmr: { enabled: boolean; lambda: number; minSimilarity: number };
  /** 0 = no cap. */
  maxChunksPerDoc: number;
  nowMs: number;
  /** similarityTokens(text) of a chunk, possibly cached by the caller (a chunk's text never changes). */
  tokensOf?: (chunkId: number, text: string) => Float64Array;
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

type Stage = ScoreMove['stage'];

/**
 * Orders the fused candidates in stages and picks topK, recording for every hit which stage moved
 * it and from where to where (1-based positions among the candidates):
 *   1. fusion   the fused score (weighted RRF or convex; the starting order)
 *   2. recency  × the recency multiplier, for time-sensitive questions only (or recency.apply: always)
 *   3. rerank   candidates with a reranker score first, by that score (the reranked head)
 *   4. exact    exact title matches first, then exact phrase matches (stable otherwise)
 *   5. doc_cap  at most maxChunksPerDoc chunks per document (later chunks drop out)
 *   6. mmr      near-duplicates of an already picked hit move down
 * Stages 1–4 never change a hit's relevance evidence, only the order; stage 6 touches only
 * candidates that are near-duplicates (similarity ≥ mmr.minSimilarity) of a better one.
 */
export function rerank(candidates: readonly Candidate[], opts: RerankOptions): RankedCandidate[] {
  const applyRecency = opts.timeSensitive;
  const scored: RankedCandidate[] = candidates.map((c) => {
    const recency = applyRecency ? recencyMultiplier(c.kind, c.publishedMs, opts.nowMs, opts.recency) : 1;
    const fused = c.fused.score * recency;
    return {
      ...c,
      score: {
        dense: c.fused.dense,
        bm25: c.fused.bm25,
        rrf: c.fused.score,
        fusion: { method: c.fused.method, dense: c.fused.parts.dense, bm25: c.fused.parts.bm25 },
        recency,
        fused,
        rrfRank: 0,
        rerank: c.rerank ?? null,
        exact: c.exact ?? null,
        moves: [],
      },
    };
  });
  const byRrf = [...scored].sort(compareFused);
  byRrf.forEach((c, i) => (c.score.rrfRank = i + 1));
  const byRecency = [...byRrf].sort((a, b) => b.score.fused - a.score.fused || a.score.rrfRank - b.score.rrfRank);
  const reranked = byRecency.filter((c) => c.score.rerank !== null).sort((a, b) => b.score.rerank! - a.score.rerank!);
  const byRerank = reranked.length > 0 ? [...reranked, ...byRecency.filter((c) => c.score.rerank === null)] : byRecency;
  const tier = (c: RankedCandidate) => (c.score.exact === 'title' ? 0 : c.score.exact === 'phrase' ? 1 : 2);
  const byExact = byRerank.map((c, i) => ({ c, i })).sort((a, b) => tier(a.c) - tier(b.c) || a.i - b.i).map((x) => x.c);

  const capped = capPerDoc(byExact, opts.maxChunksPerDoc, Infinity);
  const picked = opts.mmr.enabled && opts.mmr.lambda < 1 ? mmrSelect(byExact, opts) : capped.slice(0, opts.topK);

  // Explain: each stage that changed a picked hit's position.
  const positions: Array<[Stage, Map<number, number>]> = [
    ['recency', positionsOf(byRecency)],
    ['rerank', positionsOf(byRerank)],
    ['exact', positionsOf(byExact)],
    ['doc_cap', positionsOf(capped)],
    ['mmr', positionsOf(picked)],
  ];
  for (const c of picked) {
    let prev = c.score.rrfRank;
    for (const [stage, pos] of positions) {
      const at = pos.get(c.chunkId);
      if (at === undefined) continue; // (picked by MMR although the plain cap pass would skip it)
      if (at !== prev) c.score.moves.push({ stage, from: prev, to: at });
      prev = at;
    }
  }
  return picked;
}

function positionsOf(list: readonly RankedCandidate[]): Map<number, number> {
  return new Map(list.map((c, i) => [c.chunkId, i + 1]));
}

function capPerDoc(list: readonly RankedCandidate[], max: number, limit: number): RankedCandidate[] {
  if (max <= 0) return list.slice(0, limit);
  const perDoc = new Map<number, number>();
  const out: RankedCandidate[] = [];
  for (const c of list) {
    if (out.length >= limit) break;
    const n = perDoc.get(c.docId) ?? 0;
    if (n >= max) continue;
    perDoc.set(c.docId, n + 1);
    out.push(c);
  }
  return out;
}

/** Greedy MMR over the head of `ordered` with the near-duplicate gate and the per-document cap. */
function mmrSelect(ordered: readonly RankedCandidate[], opts: RerankOptions): RankedCandidate[] {
  const perDoc = new Map<number, number>();
  const capped = (c: RankedCandidate) => opts.maxChunksPerDoc > 0 && (perDoc.get(c.docId) ?? 0) >= opts.maxChunksPerDoc;
  const picked: RankedCandidate[] = [];
  const take = (c: RankedCandidate) => {
    picked.push(c);
    perDoc.set(c.docId, (perDoc.get(c.docId) ?? 0) + 1);
  };
  const tokens = new Map<number, Float64Array>();
  const tokensOf = (c: RankedCandidate) => {
    let t = tokens.get(c.chunkId);
    if (!t) tokens.set(c.chunkId, (t = opts.tokensOf ? opts.tokensOf(c.chunkId, c.text) : similarityTokens(c.text)));
    return t;
  };
  const { lambda, minSimilarity } = opts.mmr;
  // MMR looks at the best few candidates only (like fetch_k elsewhere): far below the top, a
  // candidate cannot win on relevance anyway, and every pick costs one similarity per candidate.
  const nominalPool = Math.max(MMR_POOL_MIN, opts.topK * MMR_POOL_FACTOR);
  const poolSize = Math.min(ordered.length, nominalPool);
  const remaining = ordered.slice(0, poolSize);
  // maxSim[i] = highest similarity of remaining candidate i to any picked hit, updated per pick.
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
      // Relevance by position: the stages above (rerank, exact) order by more than one score.
      const rel = 1 - i / nominalPool;
      const penalty = maxSim[i] >= minSimilarity ? maxSim[i] : 0;
      const val = lambda * rel - (1 - lambda) * penalty;
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
      const s = jaccard(tokensOf(chosen), tokensOf(remaining[i]));
      if (s > maxSim[i]) maxSim[i] = s;
    }
  }
  // The pool ran dry (per-document cap, or few candidates): continue in order.
  for (const c of ordered.slice(poolSize)) {
    if (picked.length >= opts.topK) break;
    if (!capped(c)) take(c);
  }
  return picked;
}

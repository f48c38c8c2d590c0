// Answer scoring for `kb finetune eval`: exact match, token F1 and ROUGE-L over normalised
// tokens. Chinese (and other CJK) text has no spaces, so every CJK character is one token;
// other text is split on whitespace. Mixed text yields CJK characters + words.

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
const TOKEN_RE = new RegExp(`[${CJK}]|[^\\s${CJK}]+`, 'gu');
// Unicode punctuation (P*) and symbols (S*): covers ASCII punctuation and the Chinese
// full-width marks (，。、；：？！“”‘’《》【】（）…) that NFKC does not fold.
const PUNCT_RE = /[\p{P}\p{S}]/gu;
const ARTICLES = new Set(['a', 'an', 'the']);

/** NFKC, lowercase, punctuation → space, collapsed whitespace. Articles are dropped in tokenize(). */
export function normalizeAnswer(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(PUNCT_RE, ' ').replace(/\s+/g, ' ').trim();
}

/** Normalised tokens: CJK characters one by one, other runs by whitespace, English articles removed. */
export function tokenize(text: string): string[] {
  const tokens = normalizeAnswer(text).match(TOKEN_RE) ?? [];
  return tokens.filter((t) => !ARTICLES.has(t));
}

/** 1 when the normalised token sequences are identical, else 0. */
export function exactMatch(prediction: string, reference: string): number {
  return tokenize(prediction).join(' ') === tokenize(reference).join(' ') ? 1 : 0;
}

function prf(overlap: number, predLen: number, refLen: number): number {
  if (predLen === 0 && refLen === 0) return 1;
  if (overlap === 0) return 0;
  const precision = overlap / predLen;
  const recall = overlap / refLen;
  return (2 * precision * recall) / (precision + recall);
}

/** SQuAD-style token F1: harmonic mean of precision and recall of the token multiset overlap. */
export function tokenF1(prediction: string, reference: string): number {
  const pred = tokenize(prediction);
  const ref = tokenize(reference);
  const counts = new Map<string, number>();
  for (const t of ref) counts.set(t, (counts.get(t) ?? 0) + 1);
  let overlap = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      overlap += 1;
      counts.set(t, c - 1);
    }
  }
  return prf(overlap, pred.length, ref.length);
}

/** Length of the longest common subsequence (O(n·m) time, O(m) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L F-measure (β = 1) on the same tokens as tokenF1. */
export function rougeL(prediction: string, reference: string): number {
  const pred = tokenize(prediction);
  const ref = tokenize(reference);
  return prf(lcsLength(pred, ref), pred.length, ref.length);
}

export interface AnswerScores {
  em: number;
  f1: number;
  rougeL: number;
}

/** Scores a prediction against one or more acceptable references (best reference per metric). */
export function scoreAnswer(prediction: string, references: readonly string[]): AnswerScores {
  if (references.length === 0) throw new Error('scoreAnswer needs at least one reference answer');
  let best: AnswerScores = { em: 0, f1: 0, rougeL: 0 };
  for (const ref of references) {
    best = {
      em: Math.max(best.em, exactMatch(prediction, ref)),
      f1: Math.max(best.f1, tokenF1(prediction, ref)),
      rougeL: Math.max(best.rougeL, rougeL(prediction, ref)),
    };
  }
  return best;
}

/**
 * Removes the reasoning block of R1-style models (`<think>…</think>`), and a dangling
 * `…</think>` prefix when the server's template already opened the block, so only the answer
 * is scored.
 */
export function stripReasoning(text: string): string {
  let out = text.replace(/<think>[\s\S]*?<\/think>/g, '');
  const close = out.lastIndexOf('</think>');
  if (close >= 0) out = out.slice(close + '</think>'.length);
  return out.trim();
}

import type { TokenCounter } from './tokens-types.ts';

export type { TokenCounter } from './tokens-types.ts';

/*
 * Token estimate used when the embedding model's tokenizer is not loaded.
 *
 * Rule (per piece of text, summed, rounded up once at the end):
 *   - each CJK ideograph, kana or hangul syllable            → 1 token
 *     (XLM-R / multilingual-e5 SentencePiece vocabularies split most CJK text into single
 *     characters; common two-character words that exist as one piece make this an over-count,
 *     which is the safe direction for staying under the model's input limit);
 *   - each run of other letters/digits (a "word") of ≤ 10 chars → 1.3 tokens
 *     (≈ 1.3 subword pieces per English word for a 250k-vocabulary SentencePiece model);
 *   - a longer run (identifiers, compounds, unsegmented scripts) → length / 4 tokens;
 *   - each other non-space character (punctuation, symbols, emoji) → 1 token.
 *
 * Measured error: NOT measured in this environment — no tokenizer files are available offline,
 * so the figures above are the documented design targets, not measurements. The chunker only
 * relies on the estimate being roughly proportional and, for CJK, not under-counting. When the
 * model is loaded, use tokenizerCounter() so chunk sizes are exact; reports record
 * TokenCounter.kind so figures can be interpreted.
 */

const PIECE = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])|([\p{L}\p{N}\p{M}]+)|(\S)/gu;

const WORD_TOKENS = 1.3;
const LONG_WORD_CHARS = 10;
const CHARS_PER_TOKEN_LONG_WORD = 4;

/** Estimated token count of `s` (see the rule above). 0 for empty/whitespace-only text. */
export function estimateTokens(s: string): number {
  let total = 0;
  for (const m of s.matchAll(PIECE)) {
    if (m[1] !== undefined) total += 1;
    else if (m[2] !== undefined) {
      const len = m[2].length;
      total += len <= LONG_WORD_CHARS ? WORD_TOKENS : len / CHARS_PER_TOKEN_LONG_WORD;
    } else total += 1;
  }
  // The epsilon keeps float sums like 3 × 1.3 = 3.9000000000000004 from rounding up an extra token.
  return total === 0 ? 0 : Math.ceil(total - 1e-9);
}

/** The estimate as a TokenCounter (kind 'estimate'). */
export const estimateTokenCounter: TokenCounter = Object.freeze({
  kind: 'estimate',
  count: estimateTokens,
});

/**
 * Wraps a real tokenizer's counting function (e.g. transformers.js tokenizer(text).input_ids
 * length, without special tokens) as a TokenCounter of kind 'tokenizer:<name>'.
 */
export function tokenizerCounter(name: string, fn: (text: string) => number): TokenCounter {
  if (!name) throw new Error('tokenizerCounter needs the tokenizer/model name');
  return Object.freeze({
    kind: `tokenizer:${name}`,
    count(text: string): number {
      const n = fn(text);
      if (!Number.isInteger(n) || n < 0) {
        throw new Error(`tokenizer ${name} returned an invalid token count (${n})`);
      }
      return n;
    },
  });
}

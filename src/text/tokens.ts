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

// The rule as a regular expression is
//   /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])|([\p{L}\p{N}\p{M}]+)|(\S)/gu
// (group 1: one token; group 2: a word; group 3: one token). estimateTokens walks the text with a
// per-code-point class table built from those same character classes (filled lazily, one regex
// test per distinct character) and finds the same pieces without a match object per piece:
// context packing counts every candidate prompt with it, and the regex walk was ≈ 15% of the
// chat server thread (profile at 1M chunks, 32 clients). tokens.test.ts checks that the two agree
// on random mixed-script text.

const WORD_TOKENS = 1.3;
const LONG_WORD_CHARS = 10;
const CHARS_PER_TOKEN_LONG_WORD = 4;

// Class bits of one code point: a single-token script (group 1 above), a word character
// (group 2's class; CJK letters are both), whitespace (matched by no group).
const CJK = 1;
const WORD = 2;
const SPACE = 4;
const KNOWN = 8;
const CJK_CHAR = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]$/u;
const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;
const SPACE_CHAR = /^\s$/u;
const bmp = new Uint8Array(0x10000);
const astral = new Map<number, number>();

function classify(ch: string): number {
  return KNOWN | (CJK_CHAR.test(ch) ? CJK : 0) | (WORD_CHAR.test(ch) ? WORD : 0) | (SPACE_CHAR.test(ch) ? SPACE : 0);
}

/** Class bits of the code point at `i` (a lone surrogate is its own code point, as with /u). */
function classAt(s: string, i: number, cu: number, wide: boolean): number {
  if (!wide) {
    let c = bmp[cu];
    if (c === 0) bmp[cu] = c = classify(String.fromCharCode(cu));
    return c;
  }
  const cp = s.codePointAt(i)!;
  let c = astral.get(cp);
  if (c === undefined) astral.set(cp, (c = classify(String.fromCodePoint(cp))));
  return c;
}

const isWide = (s: string, i: number, cu: number): boolean => cu >= 0xd800 && cu <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;

/** Estimated token count of \`s\` (see the rule above). 0 for empty/whitespace-only text. */
export function estimateTokens(s: string): number {
  let total = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const cu = s.charCodeAt(i);
    const wide = isWide(s, i, cu);
    const c = classAt(s, i, cu, wide);
    if (c & CJK) {
      total += 1;
      i += wide ? 2 : 1;
    } else if (c & WORD) {
      // A run of word characters, CJK letters included (as PIECE's greedy group 2), in UTF-16 units.
      const start = i;
      i += wide ? 2 : 1;
      while (i < n) {
        const u = s.charCodeAt(i);
        const w = isWide(s, i, u);
        if (!(classAt(s, i, u, w) & WORD)) break;
        i += w ? 2 : 1;
      }
      const len = i - start;
      total += len <= LONG_WORD_CHARS ? WORD_TOKENS : len / CHARS_PER_TOKEN_LONG_WORD;
    } else {
      if (!(c & SPACE)) total += 1;
      i += wide ? 2 : 1;
    }
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

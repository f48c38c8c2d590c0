import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { estimateTokenCounter, estimateTokens, tokenizerCounter } from './tokens.ts';

describe('estimateTokens', () => {
  it('counts each CJK ideograph, kana and hangul syllable as one token', () => {
    expect(estimateTokens('北京的公司')).toBe(5);
    expect(estimateTokens('ひらがなカタカナ')).toBe(8);
    expect(estimateTokens('한국어')).toBe(3);
  });

  it('counts ~1.3 tokens per English word plus punctuation', () => {
    expect(estimateTokens('the quick brown fox')).toBe(6); // 4 × 1.3 = 5.2 → 6
    expect(estimateTokens('Hello, world!')).toBe(5); // 2.6 + 2 punctuation → 5
    expect(estimateTokens('one two three')).toBe(4); // 3 × 1.3 = 3.9000000000000004 must not round to 5
  });

  it('charges long unbroken runs by length', () => {
    expect(estimateTokens('a'.repeat(40))).toBe(10);
  });

  it('handles mixed Chinese and English', () => {
    // 6 ideographs + "iPhone" 1.3 + "15" 1.3 → 8.6 → 9
    expect(estimateTokens('iPhone 15 的价格是多少')).toBe(9);
  });

  it('returns 0 for empty or whitespace-only text', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens(' \n\t ')).toBe(0);
  });

  it('grows with the text', () => {
    expect(estimateTokens('a b c d e f')).toBeGreaterThan(estimateTokens('a b c'));
  });

  it('gives what the rule written as one regular expression gives, on random mixed-script text', () => {
    // The plain reference: the documented rule, piece by piece.
    const PIECE = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])|([\p{L}\p{N}\p{M}]+)|(\S)/gu;
    const reference = (s: string): number => {
      let total = 0;
      for (const m of s.matchAll(PIECE)) {
        if (m[1] !== undefined) total += 1;
        else if (m[2] !== undefined) total += m[2].length <= 10 ? 1.3 : m[2].length / 4;
        else total += 1;
      }
      return total === 0 ? 0 : Math.ceil(total - 1e-9);
    };
    // Letters, digits, CJK (Han letters and Han-script symbols that are not letters), kana,
    // hangul, combining marks, astral letters and emoji, spaces of several kinds, punctuation,
    // and lone surrogates.
    const alphabet = ['a', 'Z', 'é', '7', '٣', '北', '京', '〇', '々', '⺀', 'ひ', 'カ', '한', '\u0301', '𠀋', '𝐱', '😀', ' ', '\n', '\u3000', '\u00a0', ',', '。', '-', '\ud800', '\udc00'];
    const piece = fc.oneof(fc.constantFrom(...alphabet), fc.integer({ min: 1, max: 14 }).map((k) => 'x'.repeat(k)));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const s = parts.join('');
        expect(estimateTokens(s), JSON.stringify(s)).toBe(reference(s));
      }),
      { numRuns: 3000, seed: 11 },
    );
  });
});

describe('TokenCounters', () => {
  it('estimateTokenCounter has kind estimate', () => {
    expect(estimateTokenCounter.kind).toBe('estimate');
    expect(estimateTokenCounter.count('北京')).toBe(2);
  });

  it('tokenizerCounter wraps a counting function', () => {
    const c = tokenizerCounter('Xenova/multilingual-e5-small', (t) => t.length);
    expect(c.kind).toBe('tokenizer:Xenova/multilingual-e5-small');
    expect(c.count('abc')).toBe(3);
  });

  it('tokenizerCounter rejects invalid counts and a missing name', () => {
    expect(() => tokenizerCounter('m', () => Number.NaN).count('x')).toThrow(/invalid token count/);
    expect(() => tokenizerCounter('m', () => -1).count('x')).toThrow(/invalid token count/);
    expect(() => tokenizerCounter('', (t) => t.length)).toThrow(/name/);
  });
});

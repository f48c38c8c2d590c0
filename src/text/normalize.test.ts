import { describe, expect, it } from 'vitest';
import { collapseWhitespace, hashText, normalizeText } from './normalize.ts';

describe('normalizeText', () => {
  it('applies NFKC (full-width letters/digits, compatibility ideographs)', () => {
    expect(normalizeText('ＡＢＣ１２３')).toBe('ABC123');
    expect(normalizeText('ﬁle')).toBe('file');
  });

  it('unifies CRLF, CR and Unicode separators to \\n', () => {
    expect(normalizeText('a\r\nb\rc\u2028d')).toBe('a\nb\nc\nd');
  });

  it('strips control and zero-width characters', () => {
    expect(normalizeText('pay\u200bment\u0000 ok\ufeff\u00ad')).toBe('payment ok');
    expect(normalizeText('北\u200d京\u202e')).toBe('北京');
  });

  it('collapses spaces/tabs (including NBSP and ideographic space) and trims lines', () => {
    expect(normalizeText('  a \t\u00a0 b  \n\u3000c\u3000 ')).toBe('a b\nc');
  });

  it('keeps form feed / vertical tab as separators instead of gluing words', () => {
    expect(normalizeText('one\ftwo\u000bthree')).toBe('one two three');
  });

  it('separates paragraphs by exactly one blank line', () => {
    expect(normalizeText('p1\n\n\n\n  \n\np2\n\np3\nline')).toBe('p1\n\np2\n\np3\nline');
    expect(normalizeText('\n\n  head\n')).toBe('head');
  });

  it('is idempotent', () => {
    const raw = ' Ｔｈｅ\u3000quick\r\n\r\n\r\n brown\u200b fox…！ ';
    const once = normalizeText(raw);
    expect(normalizeText(once)).toBe(once);
  });

  it('returns empty string for whitespace/invisible-only input', () => {
    expect(normalizeText(' \n\t\u200b\n ')).toBe('');
  });
});

describe('hashText', () => {
  it('is a hex sha256', () => {
    expect(hashText('hello')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores whitespace layout and width variants', () => {
    expect(hashText('Hello  world\r\n\r\nagain')).toBe(hashText('Hello world again'));
    expect(hashText('ＡＢＣ')).toBe(hashText('ABC'));
    expect(collapseWhitespace(' a\n\nb\tc ')).toBe('a b c');
  });

  it('differs when the words differ', () => {
    expect(hashText('Hello world')).not.toBe(hashText('Hello word'));
    expect(hashText('abc')).not.toBe(hashText('ABC'));
  });
});

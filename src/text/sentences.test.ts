import { describe, expect, it } from 'vitest';
import { splitParagraphs, splitSentences, type Span } from './sentences.ts';

const texts = (text: string, spans: Span[]): string[] => spans.map((s) => text.slice(s.start, s.end));
const sentences = (text: string): string[] => texts(text, splitSentences(text));

describe('splitSentences — Chinese', () => {
  it('splits on 。！？； and keeps closing quotes with their sentence', () => {
    expect(sentences('今天天气很好。我们去公园吧！你来吗？他说：“好的。”然后出发了；大家都很开心')).toEqual([
      '今天天气很好。', '我们去公园吧！', '你来吗？', '他说：“好的。”', '然后出发了；', '大家都很开心',
    ]);
  });

  it('handles 」』 closers, repeated terminators and ellipses', () => {
    expect(sentences('她问「真的吗？！」我点头……事情就这样定了。')).toEqual([
      '她问「真的吗？！」', '我点头……', '事情就这样定了。',
    ]);
  });

  it('handles the NFKC (half-width) forms of Chinese punctuation', () => {
    // NFKC maps ！？； to ASCII and … to "..."
    expect(sentences('真的吗?我不信!他说;我们走吧...好的。')).toEqual([
      '真的吗?', '我不信!', '他说;', '我们走吧...', '好的。',
    ]);
  });

  it('does not split decimals or version numbers', () => {
    expect(sentences('股价上涨3.5%。版本2.0发布。')).toEqual(['股价上涨3.5%。', '版本2.0发布。']);
  });
});

describe('splitSentences — English', () => {
  it('splits on . ! ? followed by space', () => {
    expect(sentences('The plant opens today. Is it ready? Yes! It is.')).toEqual([
      'The plant opens today.', 'Is it ready?', 'Yes!', 'It is.',
    ]);
  });

  it('does not split after abbreviations, initials or inside decimals', () => {
    expect(sentences('Mr. Smith met Dr. Jones in the U.S. capital at 3.5 p.m. today. J. K. Rowling, e.g. the author, agreed. Then they left.'))
      .toEqual([
        'Mr. Smith met Dr. Jones in the U.S. capital at 3.5 p.m. today.',
        'J. K. Rowling, e.g. the author, agreed.',
        'Then they left.',
      ]);
  });

  it('keeps closing quotes and brackets with the sentence', () => {
    expect(sentences('He said "we will win." Then he left (quietly.) Done.')).toEqual([
      'He said "we will win."', 'Then he left (quietly.)', 'Done.',
    ]);
  });

  it('does not split before a lower-case continuation or on English semicolons', () => {
    expect(sentences('It costs approx. five dollars; cheap. Next.')).toEqual([
      'It costs approx. five dollars; cheap.', 'Next.',
    ]);
  });

  it('treats a line break as a boundary and trims whitespace', () => {
    expect(sentences('  first line\nsecond line  ')).toEqual(['first line', 'second line']);
  });

  it('returns spans that slice the original text exactly', () => {
    const text = 'A b. C d!  E f?';
    const spans = splitSentences(text);
    expect(spans).toEqual([{ start: 0, end: 4 }, { start: 5, end: 9 }, { start: 11, end: 15 }]);
  });

  it('can split a sub-range using absolute offsets', () => {
    const text = 'xx One. Two. yy';
    expect(splitSentences(text, 3, 12)).toEqual([{ start: 3, end: 7 }, { start: 8, end: 12 }]);
  });

  it('returns nothing for empty text', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences('  \n ')).toEqual([]);
  });
});

describe('splitParagraphs', () => {
  it('splits on blank lines and trims', () => {
    const text = '  p1 line1\np1 line2\n\n\np2\n \t\np3  ';
    expect(texts(text, splitParagraphs(text))).toEqual(['p1 line1\np1 line2', 'p2', 'p3']);
  });
  it('returns nothing for blank text', () => {
    expect(splitParagraphs('\n\n  \n')).toEqual([]);
  });
});

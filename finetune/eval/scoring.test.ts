import { describe, expect, it } from 'vitest';
import { exactMatch, lcsLength, normalizeAnswer, rougeL, scoreAnswer, stripReasoning, tokenF1, tokenize } from './scoring.ts';

describe('normalisation and tokens', () => {
  it('applies NFKC, lowercases, strips ASCII and Chinese punctuation', () => {
    expect(normalizeAnswer('ＡＢＣ，Hello!')).toBe('abc hello');
    expect(normalizeAnswer('“你好”，世界。《书》【注】')).toBe('你好 世界 书 注');
  });
  it('splits CJK into characters, other text into words, and drops English articles', () => {
    expect(tokenize('The iPhone 15 发布于2023年。')).toEqual(['iphone', '15', '发', '布', '于', '2023', '年']);
    expect(tokenize('an apple a day')).toEqual(['apple', 'day']);
    expect(tokenize('the苹果')).toEqual(['苹', '果']);
  });
});

describe('exact match', () => {
  it('matches after normalisation', () => {
    expect(exactMatch('The Cat!', 'cat')).toBe(1);
    expect(exactMatch('北京 大学', '北京大学。')).toBe(1);
    expect(exactMatch('cats', 'cat')).toBe(0);
  });
});

describe('token F1 (hand-computed)', () => {
  it('English: P=3/4, R=1 → 6/7', () => {
    // pred tokens: cat sat on mat; ref tokens: cat on mat
    expect(tokenF1('the cat sat on the mat', 'a cat on a mat')).toBeCloseTo(6 / 7, 10);
  });
  it('Chinese is scored per character: P=1, R=4/6 → 0.8', () => {
    expect(tokenF1('北京大学', '北京师范大学')).toBeCloseTo(0.8, 10);
  });
  it('mixed text: CJK characters + English words', () => {
    // pred: 苹 果 iphone (3); ref: 苹 果 公 司 iphone 15 (6); overlap 3 → P=1, R=1/2 → 2/3
    expect(tokenF1('苹果 iPhone', '苹果公司 iPhone 15')).toBeCloseTo(2 / 3, 10);
  });
  it('counts repeated tokens once per occurrence', () => {
    // pred: 的 的 的 (3); ref: 的 (1): overlap 1 → P=1/3, R=1 → 0.5
    expect(tokenF1('的的的', '的')).toBeCloseTo(0.5, 10);
  });
  it('empty cases', () => {
    expect(tokenF1('', '')).toBe(1);
    expect(tokenF1('the', 'cat')).toBe(0);
    expect(tokenF1('dog', 'cat')).toBe(0);
  });
});

describe('ROUGE-L (hand-computed)', () => {
  it('LCS length', () => {
    expect(lcsLength(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'b'])).toBe(3);
    expect(lcsLength([], ['a'])).toBe(0);
  });
  it('English: LCS 2 of 3 and 3 → 2/3', () => {
    expect(rougeL('police killed the gunman', 'police kill the gunman')).toBeCloseTo(2 / 3, 10);
  });
  it('order matters, unlike F1: reversed Chinese has F1 1 but ROUGE-L 1/4', () => {
    expect(tokenF1('学大京北', '北京大学')).toBeCloseTo(1, 10);
    expect(rougeL('学大京北', '北京大学')).toBeCloseTo(0.25, 10);
  });
  it('Chinese subsequence: LCS 4, P=1, R=4/6 → 0.8', () => {
    expect(rougeL('北京大学', '北京师范大学')).toBeCloseTo(0.8, 10);
  });
});

describe('scoreAnswer', () => {
  it('takes the best reference per metric', () => {
    const s = scoreAnswer('Beijing', ['Peking', 'beijing.']);
    expect(s).toEqual({ em: 1, f1: 1, rougeL: 1 });
  });
  it('refuses an empty reference list', () => {
    expect(() => scoreAnswer('x', [])).toThrow(/reference/);
  });
});

describe('stripReasoning', () => {
  it('removes think blocks and a dangling close tag', () => {
    expect(stripReasoning('<think>hmm\nlong</think>\n答案是北京')).toBe('答案是北京');
    expect(stripReasoning('reasoning without open</think> Paris')).toBe('Paris');
    expect(stripReasoning('plain')).toBe('plain');
  });
});

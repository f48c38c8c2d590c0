import { describe, expect, it } from 'vitest';
import { detectLanguage } from './language.ts';

describe('detectLanguage', () => {
  it('detects Chinese (Simplified and Traditional)', () => {
    expect(detectLanguage('北京的公司发布新产品')).toBe('zh');
    expect(detectLanguage('臺灣的軟體公司發佈新產品')).toBe('zh');
  });

  it('keeps Chinese questions with English names Chinese', () => {
    expect(detectLanguage('iPhone 15 Pro的价格是多少？')).toBe('zh');
    expect(detectLanguage('Harbor Robotics公司的CEO是谁')).toBe('zh');
  });

  it('detects English, including text quoting a Chinese name', () => {
    expect(detectLanguage('What did the company announce on Tuesday?')).toBe('en');
    expect(detectLanguage('Alibaba (阿里巴巴) reported strong revenue growth this quarter.')).toBe('en');
  });

  it('returns other for Japanese, Korean, Cyrillic and text without letters', () => {
    expect(detectLanguage('東京の会社が新しい製品を発表しました')).toBe('other');
    expect(detectLanguage('서울의 회사가 신제품을 발표했다')).toBe('other');
    expect(detectLanguage('Компания объявила о новом продукте')).toBe('other');
    expect(detectLanguage('12345 !!! ')).toBe('other');
    expect(detectLanguage('')).toBe('other');
  });
});

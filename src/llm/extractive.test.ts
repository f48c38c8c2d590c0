import { describe, expect, it } from 'vitest';
import { extractiveAnswer } from './extractive.ts';
import { bestExcerpt } from './passages.ts';
import type { ContextBlock } from './prompt.ts';
import { detectLanguage } from './tokens.ts';

const block = (index: number, title: string, text: string): ContextBlock => ({ index, docId: index, title, url: null, kind: 'news', source: 's', publishedAt: null, passages: [text], chunkIds: [index], pages: [null] });

describe('bestExcerpt', () => {
  it('picks the sentence sharing most terms with the question, within the length', () => {
    const text = 'The company was founded in 1990. Revenue in 2023 was 12 billion yuan. It has 500 staff.';
    expect(bestExcerpt(text, 'What was revenue in 2023?', 40)).toBe('Revenue in 2023 was 12 billion yuan.');
    expect(bestExcerpt(text, 'revenue 2023', 200)).toBe(text);
    expect(bestExcerpt('华为成立于1987年。华为在2024年发布了新手机，售价5999元。', '新手机售价', 30)).toBe('华为在2024年发布了新手机，售价5999元。');
    expect(bestExcerpt('x'.repeat(100), 'q', 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('extractiveAnswer', () => {
  const blocks = [block(1, 'Acme', 'Acme revenue was 12 billion.'), block(2, 'Beta', 'Beta revenue was 3 billion.'), block(3, 'Gamma', 'Gamma.')];
  it('quotes the top passages with their numbers under a plain statement', () => {
    const a = extractiveAnswer({ question: 'Acme revenue?', blocks, reason: { kind: 'no_generator' }, maxPassages: 2, excerptChars: 200 });
    expect(a.content).toBe(
      'No generator (LLM) is configured, so this is an extractive answer: the passages of the knowledge base most relevant to the question, with their citation numbers.\n\n[1] Acme\n> Acme revenue was 12 billion.\n\n[2] Beta\n> Beta revenue was 3 billion.',
    );
    expect(a.quoted.map((b) => b.index)).toEqual([1, 2]);
  });

  it('states an unavailable upstream, in the question language', () => {
    const a = extractiveAnswer({ question: '营收是多少？', blocks, reason: { kind: 'upstream_unavailable', detail: 'timeout' }, maxPassages: 1, excerptChars: 100 });
    expect(a.content.startsWith('生成模型暂时无法访问（timeout），以下是抽取式回答')).toBe(true);
    const none = extractiveAnswer({ question: 'anything', blocks: [], reason: { kind: 'no_generator' }, maxPassages: 3, excerptChars: 100 });
    expect(none).toEqual({ content: 'No generator (LLM) is configured, and the knowledge base has no passages matching the question.', quoted: [] });
  });

  it('detects the two corpus languages', () => {
    expect(detectLanguage('华为的新手机 price?')).toBe('zh');
    expect(detectLanguage('What did 华为 launch in September this year?')).toBe('en');
  });
});

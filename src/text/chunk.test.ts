import { describe, expect, it } from 'vitest';
import { type Chunk, chunkDocument, type ChunkOptions } from './chunk.ts';
import { splitSentences } from './sentences.ts';
import { estimateTokenCounter } from './tokens.ts';
import type { TokenCounter } from './tokens-types.ts';

// Test double: one token per non-space code point, so sizes in the tests are easy to reason about.
const charCounter: TokenCounter = { kind: 'test:chars', count: (t) => Array.from(t.replace(/\s/g, '')).length };

const opts = (o: Partial<ChunkOptions> = {}): ChunkOptions => ({
  target_tokens: 60,
  max_tokens: 100,
  overlap_tokens: 0,
  title_prefix: false,
  ...o,
});

function expectExactSlices(body: string, chunks: Chunk[]): void {
  chunks.forEach((c, i) => {
    expect(c.ordinal).toBe(i);
    expect(body.slice(c.start, c.end)).toBe(c.text);
    expect(c.text).toBe(c.text.trim());
  });
}

/** Every sentence of the body lies whole inside at least one chunk. */
function expectSentencesCovered(body: string, chunks: Chunk[]): void {
  for (const s of splitSentences(body)) {
    expect(chunks.some((c) => c.start <= s.start && s.end <= c.end)).toBe(true);
  }
}

const ZH_BODY = [
  '星河科技周二宣布，将在苏州新建一座智能制造工厂。预计总投资约二十亿元！建成后年产能将达到五十万台工业机器人。',
  '公司董事长王立新表示：“近两年来自汽车行业的订单增长明显。”现有的深圳工厂已经满负荷运转；新工厂计划于明年年底投产？',
  '分析人士认为，国内工业机器人市场仍有较大增长空间。但价格竞争也日趋激烈……公司去年营业收入同比增长百分之四十二。',
].join('\n\n');

const EN_BODY = [
  'Harbor Robotics said on Tuesday it would open a second plant. Mr. Voss, the U.S. partner, agreed at 3.5 p.m. on the call.',
  'The new plant will cost about 140 million euros. It will employ roughly 600 people! Will it turn a profit? Analysts think so.',
  'Revenue rose 38 percent last year. The company expects its first profit this year.',
].join('\n\n');

describe('chunkDocument — boundaries and offsets', () => {
  it('chunks Chinese text at sentence boundaries with exact offsets', () => {
    const chunks = chunkDocument({ title: '', body: ZH_BODY }, opts(), charCounter);
    expect(chunks.length).toBeGreaterThan(1);
    expectExactSlices(ZH_BODY, chunks);
    expectSentencesCovered(ZH_BODY, chunks);
    for (const c of chunks) {
      expect(c.text).toMatch(/[。！？；…”]$/);
      expect(c.tokens).toBeLessThanOrEqual(100);
    }
  });

  it('chunks English text at sentence boundaries, not after abbreviations', () => {
    const chunks = chunkDocument({ title: '', body: EN_BODY }, opts({ target_tokens: 40, max_tokens: 80 }), charCounter);
    expectExactSlices(EN_BODY, chunks);
    expectSentencesCovered(EN_BODY, chunks);
    for (const c of chunks) {
      expect(c.text).toMatch(/[.!?]$/);
      expect(c.text).not.toMatch(/(Mr|U\.S|p\.m)\.$/);
    }
  });

  it('packs greedily up to the target', () => {
    const body = Array.from({ length: 20 }, (_, i) => `句子${String(i).padStart(2, '0')}内容。`).join(''); // 7 tokens each
    const chunks = chunkDocument({ title: '', body }, opts({ target_tokens: 30, max_tokens: 40 }), charCounter);
    expect(chunks.map((c) => c.tokens)).toEqual([28, 28, 28, 28, 28]);
    expectExactSlices(body, chunks);
  });

  it('prefers to end a chunk at a paragraph boundary', () => {
    // Paragraph 1: 40 tokens, paragraph 2: 40 tokens; target 60 → break between paragraphs
    // rather than pulling half of paragraph 2 into chunk 1.
    const p1 = '甲'.repeat(19) + '。' + '乙'.repeat(19) + '。';
    const p2 = '丙'.repeat(19) + '。' + '丁'.repeat(19) + '。';
    const body = `${p1}\n\n${p2}`;
    const chunks = chunkDocument({ title: '', body }, opts(), charCounter);
    expect(chunks.map((c) => c.text)).toEqual([p1, p2]);
  });

  it('joins short paragraphs into one chunk when they fit', () => {
    const body = '第一段。\n\n第二段。\n\n第三段。';
    const chunks = chunkDocument({ title: '', body }, opts(), charCounter);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe(body);
    expect(chunks[0]).toMatchObject({ start: 0, end: body.length });
  });

  it('returns no chunks for an empty or blank body', () => {
    expect(chunkDocument({ title: 'T', body: '' }, opts(), charCounter)).toEqual([]);
    expect(chunkDocument({ title: 'T', body: ' \n\n ' }, opts(), charCounter)).toEqual([]);
  });
});

describe('chunkDocument — overlap', () => {
  const body = Array.from({ length: 12 }, (_, i) => `第${i}个句子在这里。`).join(''); // 9 tokens each (10 for i>=10)

  it('carries whole trailing sentences up to overlap_tokens into the next chunk', () => {
    const chunks = chunkDocument({ title: '', body }, opts({ target_tokens: 30, max_tokens: 40, overlap_tokens: 10 }), charCounter);
    expect(chunks.length).toBeGreaterThan(2);
    expectExactSlices(body, chunks);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const cur = chunks[i]!;
      expect(cur.start).toBeLessThan(prev.end); // overlaps
      const overlapText = body.slice(cur.start, prev.end);
      // The overlap is exactly one whole sentence of the previous chunk (9–10 tokens ≤ 10).
      expect(splitSentences(overlapText)).toHaveLength(1);
      expect(overlapText).toMatch(/^第\d+个句子在这里。$/);
      expect(charCounter.count(overlapText)).toBeLessThanOrEqual(10);
    }
    expect(chunks.at(-1)!.end).toBe(body.length);
  });

  it('does not overlap when overlap_tokens is 0 or smaller than any sentence', () => {
    for (const overlap of [0, 5]) {
      const chunks = chunkDocument({ title: '', body }, opts({ target_tokens: 30, max_tokens: 40, overlap_tokens: overlap }), charCounter);
      for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.start).toBeGreaterThanOrEqual(chunks[i - 1]!.end);
    }
  });

  it('always makes progress (never repeats a whole chunk)', () => {
    const chunks = chunkDocument({ title: '', body }, opts({ target_tokens: 10, max_tokens: 20, overlap_tokens: 9 }), charCounter);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.end).toBeGreaterThan(chunks[i - 1]!.end);
      expect(chunks[i]!.start).toBeGreaterThan(chunks[i - 1]!.start); // previous chunk not repeated whole
    }
    expect(chunks.at(-1)!.end).toBe(body.length);
  });
});

describe('chunkDocument — long sentences', () => {
  it('splits a Chinese sentence longer than max_tokens on characters', () => {
    const body = `开头。${'长'.repeat(250)}。结尾。`;
    const chunks = chunkDocument({ title: '', body }, opts(), charCounter);
    expectExactSlices(body, chunks);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(100);
    // All characters of the long sentence are kept.
    const longCovered = chunks.map((c) => c.text).join('').split('').filter((ch) => ch === '长').length;
    expect(longCovered).toBe(250);
  });

  it('splits a long English sentence between words', () => {
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`);
    const body = `${words.join(' ')}.`;
    const chunks = chunkDocument({ title: '', body }, opts({ target_tokens: 50, max_tokens: 80 }), charCounter);
    expect(chunks.length).toBeGreaterThan(5);
    expectExactSlices(body, chunks);
    const seen: string[] = [];
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(80);
      seen.push(...c.text.replace(/\.$/, '').split(' '));
    }
    expect(seen).toEqual(words); // no word was cut in half, none lost or duplicated
  });
});

describe('chunkDocument — title prefix', () => {
  it('prefixes embedText with the title and counts its tokens', () => {
    const chunks = chunkDocument({ title: '机器人工厂', body: ZH_BODY }, opts({ title_prefix: true }), charCounter);
    for (const c of chunks) {
      expect(c.embedText).toBe(`机器人工厂\n${c.text}`);
      expect(c.tokens).toBe(charCounter.count(c.embedText));
      expect(c.tokens).toBeLessThanOrEqual(100);
    }
  });

  it('uses the bare text when the title is empty or title_prefix is off', () => {
    for (const [title, prefix] of [['', true], ['  ', true], ['Title', false]] as const) {
      const chunks = chunkDocument({ title, body: EN_BODY }, opts({ title_prefix: prefix }), charCounter);
      for (const c of chunks) {
        expect(c.embedText).toBe(c.text);
        expect(c.tokens).toBe(charCounter.count(c.text));
      }
    }
  });

  it('shortens an absurdly long title so chunks still fit max_tokens', () => {
    const chunks = chunkDocument({ title: '标'.repeat(500), body: ZH_BODY }, opts({ title_prefix: true }), charCounter);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(100);
    expect(chunks[0]!.embedText.startsWith('标'.repeat(25) + '\n')).toBe(true);
  });
});

describe('chunkDocument — with the estimate counter and production settings', () => {
  it('keeps every chunk within max_tokens and covers the body', () => {
    const body = Array.from({ length: 40 }, () => `${EN_BODY}\n\n${ZH_BODY}`).join('\n\n');
    const settings = { target_tokens: 256, max_tokens: 400, overlap_tokens: 40, title_prefix: true };
    const chunks = chunkDocument({ title: 'Robots 机器人', body }, settings, estimateTokenCounter);
    expectExactSlices(body, chunks);
    expectSentencesCovered(body, chunks);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(400);
    expect(chunks.at(-1)!.end).toBe(body.length);
  });
});

describe('chunkDocument — invalid options', () => {
  it('rejects inconsistent settings with a clear error', () => {
    const doc = { title: '', body: 'x.' };
    expect(() => chunkDocument(doc, opts({ target_tokens: 0 }), charCounter)).toThrow(/target_tokens/);
    expect(() => chunkDocument(doc, opts({ max_tokens: 10 }), charCounter)).toThrow(/max_tokens/);
    expect(() => chunkDocument(doc, opts({ overlap_tokens: 60 }), charCounter)).toThrow(/overlap_tokens/);
  });
});

describe('chunkDocument — very long unpunctuated text', () => {
  it('splits a 100k-character run into pieces within max_tokens without losing text', () => {
    const body = '字'.repeat(100_000);
    const chunks = chunkDocument({ title: '', body }, opts({ target_tokens: 256, max_tokens: 400, overlap_tokens: 0 }), charCounter);
    expectExactSlices(body, chunks);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(400);
    expect(chunks.map((c) => c.text).join('')).toBe(body);
  });
});

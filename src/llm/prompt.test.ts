import { describe, expect, it } from 'vitest';
import type { RetrievalHit } from '../retrieval/types.ts';
import { buildGroundedMessages, citationsFor, citedIndices, fitHistory, packContext, renderBlock } from './prompt.ts';
import { estimateTokens } from './tokens.ts';

const hit = (chunkId: number, docId: number, text: string, title = `Doc ${docId}`): RetrievalHit => ({
  chunkId,
  docId,
  source: 's',
  externalId: String(docId),
  kind: 'news',
  title,
  url: null,
  publishedAt: '2024-03-01T08:00:00Z',
  tags: [],
  text,
  score: { dense: null, bm25: { rank: 1, score: 1 }, rrf: 0.01, recency: 1, fused: 0.01 },
});

const sentence = (n: number) => Array.from({ length: n }, (_, i) => `Sentence number ${i} talks about revenue.`).join(' ');

describe('packContext', () => {
  it('numbers one block per document in rank order and merges chunks of the same document', () => {
    const r = packContext([hit(1, 10, 'alpha'), hit(2, 20, 'beta'), hit(3, 10, 'gamma')], 1000);
    expect(r.blocks.map((b) => [b.index, b.docId, b.passages])).toEqual([
      [1, 10, ['alpha', 'gamma']],
      [2, 20, ['beta']],
    ]);
    expect(r.omitted).toBe(0);
  });

  it('never exceeds the budget: cuts the last passage that fits partly and omits the rest', () => {
    const hits = [hit(1, 1, sentence(20)), hit(2, 2, sentence(20)), hit(3, 3, sentence(20))];
    for (const budget of [60, 150, 250, 400, 900]) {
      const r = packContext(hits, budget);
      expect(r.tokens, `budget ${budget}`).toBeLessThanOrEqual(budget);
      // Every hit is either packed (possibly merged/cut) or counted as omitted.
      expect(r.blocks.reduce((n, b) => n + b.passages.length, 0) + r.omitted).toBe(3);
    }
    const r = packContext(hits, 300);
    expect(r.truncated).toBe(true);
    expect(r.blocks.at(-1)!.passages.at(-1)!.endsWith('…')).toBe(true);
    expect(r.omitted).toBeGreaterThan(0);
  });

  it('returns nothing when even a short passage does not fit', () => {
    const r = packContext([hit(1, 1, sentence(20))], 20);
    expect(r.blocks).toEqual([]);
    expect(r.omitted).toBe(1);
  });

  it('fences passages so that their own backticks cannot close the block', () => {
    const [b] = packContext([hit(1, 1, 'code: ```rm -rf``` and ````x````')], 1000).blocks;
    const rendered = renderBlock(b);
    expect(rendered.split('\n')[1]).toBe('`````');
    expect(rendered.endsWith('\n`````')).toBe(true);
  });
});

describe('grounded messages', () => {
  const blocks = packContext([hit(1, 1, 'Revenue was 5.')], 1000).blocks;
  it('puts rules in the system message and context + question in the last user message', () => {
    const m = buildGroundedMessages({ question: 'Revenue?', history: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], blocks, persona: 'You are Acme bot.', clientInstructions: ['Be brief.'], instructionsIn: 'system' });
    expect(m.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(m[0].content).toMatch(/^You are Acme bot\.\n\nRules:\n- Answer the question using ONLY/);
    expect(m[0].content).toContain('Instructions from the application:\nBe brief.');
    expect(m[3].content).toBe('Context passages:\n\n[1] Doc 1 (news, 2024-03-01, s)\n```\nRevenue was 5.\n```\n\nQuestion: Revenue?');
  });

  it('can put everything in the user turn (models trained without system prompts)', () => {
    const m = buildGroundedMessages({ question: 'Q?', history: [], blocks: [], persona: '', clientInstructions: [], instructionsIn: 'user' });
    expect(m).toHaveLength(1);
    expect(m[0].role).toBe('user');
    expect(m[0].content).toMatch(/Rules:[\s\S]*no passages were found[\s\S]*Question: Q\?$/);
  });
});

describe('history and citations', () => {
  it('keeps the newest turns that fit and never starts with an orphan answer', () => {
    const h = [
      { role: 'user' as const, content: 'first question' },
      { role: 'assistant' as const, content: 'first answer '.repeat(20) },
      { role: 'user' as const, content: 'second question' },
      { role: 'assistant' as const, content: 'second answer' },
    ];
    const budget = estimateTokens('second question') + estimateTokens('second answer') + 16 + 5;
    expect(fitHistory(h, budget)).toEqual(h.slice(2));
    expect(fitHistory(h, estimateTokens('second answer') + 8)).toEqual([]);
  });

  it('parses citation markers and returns the cited blocks (all blocks when none are cited)', () => {
    expect(citedIndices('a [1] b [2, 3] c [3][9] d 【2】 e [10]', 5)).toEqual([1, 2, 3]);
    const blocks = packContext([hit(1, 1, 'one'), hit(2, 2, 'two'), hit(3, 3, 'three')], 1000).blocks;
    expect(citationsFor('see [2]', blocks, 'q', 100).map((c) => c.doc_id)).toEqual([2]);
    expect(citationsFor('no markers', blocks, 'q', 100).map((c) => c.index)).toEqual([1, 2, 3]);
    expect(citationsFor('see [2]', blocks, 'q', 100)[0]).toEqual({ index: 2, doc_id: 2, title: 'Doc 2', url: null, snippet: 'two', kind: 'news', published_at: '2024-03-01T08:00:00Z', page: null, source: 's', chunk_ids: [2] });
  });
});

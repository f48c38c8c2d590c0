import { describe, expect, it } from 'vitest';
import { ThinkFilter, splitThink, type SplitText } from './think-filter.ts';

function run(chunks: string[], startInThink = false): SplitText {
  const f = new ThinkFilter({ startInThink });
  const out: SplitText = { content: '', reasoning: '' };
  for (const c of chunks) {
    const r = f.push(c);
    out.content += r.content;
    out.reasoning += r.reasoning;
  }
  const r = f.flush();
  return { content: out.content + r.content, reasoning: out.reasoning + r.reasoning };
}

const SAMPLE = '<think>\nThe user asks about 营收. Check [1].\n</think>\n\n营收增长了 12% [1]。';
const EXPECTED = { reasoning: 'The user asks about 营收. Check [1].\n', content: '营收增长了 12% [1]。' };

describe('ThinkFilter', () => {
  it('splits a whole text', () => {
    expect(splitThink(SAMPLE)).toEqual(EXPECTED);
  });

  it('gives the same result for a split at every position', () => {
    for (let i = 0; i <= SAMPLE.length; i++) {
      expect(run([SAMPLE.slice(0, i), SAMPLE.slice(i)]), `split at ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same result for every pair of split positions around both tags', () => {
    const s = 'a<think>bc</think>d';
    for (let i = 0; i <= s.length; i++) {
      for (let j = i; j <= s.length; j++) {
        expect(run([s.slice(0, i), s.slice(i, j), s.slice(j)]), `${i},${j}`).toEqual({ content: 'ad', reasoning: 'bc' });
      }
    }
  });

  it('handles one character per chunk and empty chunks', () => {
    const chunks = [...SAMPLE].flatMap((c) => [c, '']);
    expect(run(chunks)).toEqual(EXPECTED);
  });

  it('never lets a tag into content, including a stray closing tag', () => {
    const r = splitThink('Answer </think>with stray tag');
    expect(r.content).toBe('Answer with stray tag');
    expect(r.content).not.toContain('think>');
  });

  it('keeps text that only looks like the start of a tag', () => {
    expect(run(['x <thi', 'nk about it'])).toEqual({ content: 'x <think about it', reasoning: '' });
    expect(run(['ends with <thi'])).toEqual({ content: 'ends with <thi', reasoning: '' });
    expect(run(['a < b and c </', 'p>'])).toEqual({ content: 'a < b and c </p>', reasoning: '' });
  });

  it('treats output before </think> as reasoning when the template opened the block', () => {
    const s = 'reasoning here\n</think>\n\nThe answer.';
    for (let i = 0; i <= s.length; i++) {
      expect(run([s.slice(0, i), s.slice(i)], true)).toEqual({ reasoning: 'reasoning here\n', content: 'The answer.' });
    }
  });

  it('keeps everything as reasoning when the block never closes', () => {
    expect(run(['<think>still', ' thinking'])).toEqual({ content: '', reasoning: 'still thinking' });
  });

  it('handles several blocks', () => {
    expect(splitThink('<think>a</think>b<think>c</think>d')).toEqual({ content: 'bd', reasoning: 'ac' });
  });
});

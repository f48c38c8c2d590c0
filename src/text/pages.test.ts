import { describe, expect, it } from 'vitest';
import { cleanDocument } from './clean.ts';
import { locatePageStarts, pageAt } from './pages.ts';

describe('page numbers through cleaning', () => {
  it('finds each page in the cleaned body although running headers were removed', () => {
    const header = 'ACME Corp confidential report';
    const pages = [
      `${header}\nIntroduction to the drone market.\nGrowth was strong.`,
      `${header}\nChapter two covers robots in factories.`,
      `${header}\nChapter three: outlook for 2027.`,
    ];
    const cleaned = cleanDocument({ title: 't', body: pages.join('\n\n') }, { min_chars: 1, max_chars: 10_000, boilerplate_patterns: [] });
    expect(cleaned.ok).toBe(true);
    if (!cleaned.ok) return;
    // The header repeats on every page, so cleaning removed it: offsets shifted.
    expect(cleaned.body).not.toContain(header);
    const starts = locatePageStarts(pages, cleaned.body);
    expect(starts).toHaveLength(3);
    expect(cleaned.body.slice(starts[1]).startsWith('Chapter two')).toBe(true);
    expect(cleaned.body.slice(starts[2]).startsWith('Chapter three')).toBe(true);
    expect(pageAt(starts, cleaned.body.indexOf('Growth'))).toBe(1);
    expect(pageAt(starts, cleaned.body.indexOf('robots'))).toBe(2);
    expect(pageAt(starts, cleaned.body.length - 1)).toBe(3);
  });

  it('keeps offsets monotonic when a page cannot be found', () => {
    const starts = locatePageStarts(['first page text', '12', 'third page text here'], 'first page text\n\nthird page text here');
    expect(starts).toEqual([0, 0, 17]);
    expect(pageAt(starts, 0)).toBe(1); // page 2 was not found: its text is not known to be there
    expect(pageAt(starts, 20)).toBe(3);
  });

  it('locates Chinese pages by short Han lines', () => {
    const starts = locatePageStarts(['第一页内容', '第二页'], '第一页内容\n\n第二页');
    expect(starts).toEqual([0, 7]);
  });
});

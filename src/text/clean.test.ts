import { describe, expect, it } from 'vitest';
import { cleanDocument, compileBoilerplatePatterns, truncateText } from './clean.ts';

const opts = {
  min_chars: 20,
  max_chars: 200_000,
  boilerplate_patterns: [
    '^(share|share this|分享到|分享)[:：]?\\s*$',
    '^(all rights reserved|版权所有|©|copyright)',
    '^(read more|阅读更多)[:：]?',
  ],
};

describe('cleanDocument', () => {
  it('converts HTML, normalises and keeps the article text', () => {
    const r = cleanDocument(
      { title: '<b>Big</b>  news\n', body: '<html><body><nav>Home</nav><p>The company&nbsp;reported record revenue.</p><p>Shares rose 5%.</p></body></html>' },
      opts,
    );
    expect(r).toEqual({
      ok: true,
      title: 'Big news',
      body: 'The company reported record revenue.\n\nShares rose 5%.',
      truncated: false,
      removed_lines: 0,
    });
  });

  it('drops boilerplate lines case-insensitively (Chinese and English)', () => {
    const body = '北京的公司今天发布了新产品，售价三千元。\nSHARE THIS\n分享到：\n版权所有 2024 某某网\nRead more: other story\n产品将于下月上市销售。';
    const r = cleanDocument({ title: '', body }, opts);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toBe('北京的公司今天发布了新产品,售价三千元。\n产品将于下月上市销售。');
    expect(r.removed_lines).toBe(4);
  });

  it('drops lines repeated verbatim 3+ times but keeps lines seen twice', () => {
    const body = ['Follow us on WeChat', 'Paragraph one is the real content here.', 'Follow us on WeChat',
      'Twice line', 'Paragraph two continues the story.', 'Twice line', 'Follow us on WeChat'].join('\n\n');
    const r = cleanDocument({ title: 't', body }, opts);
    expect(r.ok && r.body).toBe(
      'Paragraph one is the real content here.\n\nTwice line\n\nParagraph two continues the story.\n\nTwice line',
    );
  });

  it('rejects an empty body with reason empty_body', () => {
    const r = cleanDocument({ title: 'x', body: '  \n ' }, opts);
    expect(r).toEqual({ ok: false, reason: 'empty_body', detail: 'body is empty' });
    const html = cleanDocument({ title: 'x', body: '<script>alert(1)</script>' }, opts);
    expect(html.ok).toBe(false);
    expect(!html.ok && html.reason).toBe('empty_body');
  });

  it('rejects a body made only of boilerplate as empty_body', () => {
    const r = cleanDocument({ title: 'x', body: 'Share\n© 2024 Example' }, opts);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('empty_body');
    expect(!r.ok && r.detail).toMatch(/2 lines/);
  });

  it('rejects a short body with reason too_short and the lengths in the detail', () => {
    const r = cleanDocument({ title: 'x', body: '太短了' }, opts);
    expect(r).toEqual({ ok: false, reason: 'too_short', detail: 'cleaned body has 3 chars, minimum is 20' });
  });

  it('truncates long bodies at a paragraph boundary and says so', () => {
    const paras = ['a', 'b', 'c', 'd'].map((ch) => ch.repeat(40));
    const body = paras.join('\n\n'); // 166 chars
    const r = cleanDocument({ title: '', body }, { ...opts, max_chars: 100 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.truncated).toBe(true);
    expect(r.body).toBe(`${paras[0]}\n\n${paras[1]}`);
  });

  it('throws a clear error on an invalid boilerplate pattern or limits', () => {
    expect(() => cleanDocument({ title: '', body: 'x'.repeat(30) }, { ...opts, boilerplate_patterns: ['(unclosed'] }))
      .toThrow(/boilerplate_patterns\[0\]/);
    expect(() => cleanDocument({ title: '', body: 'x' }, { ...opts, min_chars: 10, max_chars: 5 })).toThrow(/min_chars/);
  });
});

describe('truncateText', () => {
  it('falls back to a sentence end, then a hard cut', () => {
    expect(truncateText('第一句话很长很长。第二句话也很长很长很长', 15)).toBe('第一句话很长很长。');
    expect(truncateText('abcdefghij', 4)).toBe('abcd');
  });
  it('never leaves half a surrogate pair', () => {
    const out = truncateText('ab😀cd', 3);
    expect(out).toBe('ab');
  });
  it('returns short text unchanged', () => {
    expect(truncateText('short', 10)).toBe('short');
  });
});

describe('compileBoilerplatePatterns', () => {
  it('caches compiled patterns', () => {
    expect(compileBoilerplatePatterns(['^a$'])).toBe(compileBoilerplatePatterns(['^a$']));
  });
});

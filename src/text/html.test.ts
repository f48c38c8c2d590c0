import { describe, expect, it } from 'vitest';
import { decodeEntities, htmlToText, looksLikeHtml } from './html.ts';

describe('htmlToText', () => {
  it('drops script, style, noscript, head, nav, footer and aside content', () => {
    const html = `<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head>
      <body><nav><a href="/">Home</a> <nav>inner</nav> Menu</nav>
      <script>var s = "<p>not text</p>";</script><noscript>Enable JS</noscript>
      <p>Real content.</p><aside>Related</aside><footer>© 2024</footer></body></html>`;
    expect(htmlToText(html)).toBe('Real content.');
  });

  it('turns block elements into paragraph and line breaks', () => {
    const html = '<h1>Title</h1><p>First <b>para</b>graph.</p><div>Second</div>' +
      '<ul><li>one</li><li>two</li></ul>line1<br>line2<br/>line3' +
      '<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>' +
      '<blockquote>quoted</blockquote><section>s</section><article>art</article>';
    expect(htmlToText(html)).toBe(
      'Title\n\nFirst paragraph.\n\nSecond\n\none\ntwo\n\nline1\nline2\nline3\n\na b\nc d\n\nquoted\n\ns\n\nart',
    );
  });

  it('treats <br><br> as a paragraph break and ignores whitespace between blocks', () => {
    expect(htmlToText('one<br><br>two<br>three')).toBe('one\n\ntwo\nthree');
    expect(htmlToText('<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n<p>c</p>')).toBe('a\nb\n\nc');
  });

  it('collapses source whitespace but keeps <pre> line breaks', () => {
    expect(htmlToText('<p>a\n   b\tc</p><pre>x = 1\ny = 2</pre>')).toBe('a b c\n\nx = 1\ny = 2');
  });

  it('decodes named and numeric entities', () => {
    expect(htmlToText('<p>AT&amp;T &lt;tag&gt; &quot;q&quot; caf&eacute; &#20013;&#x6587; &hellip; &nbsp;x</p>'))
      .toBe('AT&T <tag> "q" café 中文 ... x');
  });

  it('keeps Chinese text and treats a stray "<" as text', () => {
    expect(htmlToText('<div>价格 < 100 元</div><p>北京的公司</p>')).toBe('价格 < 100 元\n\n北京的公司');
  });

  it('handles attributes containing ">" and unclosed head', () => {
    expect(htmlToText('<p title="a > b" class=x>ok</p>')).toBe('ok');
    expect(htmlToText('<html><head><meta charset="utf-8"><body><p>body text</p>')).toBe('body text');
  });

  it('skips comments, CDATA markers and processing instructions', () => {
    expect(htmlToText('<?xml version="1.0"?><p>a<!-- hidden <p>x</p> -->b</p>')).toBe('ab');
  });

  it('returns empty string for markup without text', () => {
    expect(htmlToText('<div><script>x()</script><br></div>')).toBe('');
  });
});

describe('decodeEntities', () => {
  it('leaves unknown names and named references without ";" untouched', () => {
    expect(decodeEntities('&bogus; a=1&copy=2')).toBe('&bogus; a=1&copy=2');
  });
  it('maps invalid code points to U+FFFD and C1 numbers via windows-1252', () => {
    expect(decodeEntities('&#0;&#xD800;&#150;&#8364')).toBe('\ufffd\ufffd–€');
  });
});

describe('looksLikeHtml', () => {
  it('detects markup', () => {
    expect(looksLikeHtml('<p>hello</p>')).toBe(true);
    expect(looksLikeHtml('text<br>more')).toBe(true);
    expect(looksLikeHtml('<!DOCTYPE html><x>')).toBe(true);
    expect(looksLikeHtml('see <a href="x">link</a>')).toBe(true);
  });
  it('does not flag plain text with angle brackets or ampersands', () => {
    expect(looksLikeHtml('if a < b and c > d then AT&T wins')).toBe(false);
    expect(looksLikeHtml('《战国无双3》是一款游戏')).toBe(false);
    expect(looksLikeHtml('use <T> generics')).toBe(false);
  });
});

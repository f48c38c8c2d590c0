import { decodeEntities } from './html-entities.ts';
import { normalizeText } from './normalize.ts';

export { decodeEntities } from './html-entities.ts';

// Elements whose whole content is dropped: code, page chrome and non-text payloads.
const DROPPED = new Set([
  'script', 'style', 'noscript', 'title', 'head', 'nav', 'footer', 'aside',
  'template', 'svg', 'math', 'iframe', 'object', 'canvas', 'select', 'button',
]);
// Raw-text elements: their content is not markup, so skip straight to the matching end tag.
const RAW_TEXT = new Set(['script', 'style', 'noscript', 'title', 'template', 'textarea', 'xmp']);
// Elements that start a new paragraph.
const PARAGRAPH = new Set([
  'p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'blockquote', 'ul', 'ol',
  'dl', 'table', 'header', 'main', 'pre', 'figure', 'hr', 'address', 'details', 'summary',
  'fieldset', 'form', 'body', 'html',
]);
// Elements that start a new line within a paragraph.
const LINE = new Set(['li', 'tr', 'dt', 'dd', 'figcaption', 'caption', 'thead', 'tbody', 'tfoot', 'option']);
// Table cells are separated by a space so adjacent cell texts don't merge into one word.
const CELL = new Set(['td', 'th']);

const TAG = /<(\/?)([A-Za-z][A-Za-z0-9:-]*)((?:\s*[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/y;
const HTML_WHITESPACE = /[ \t\n\r\f]+/g;

const KNOWN_TAGS =
  'html|head|body|p|div|span|br|a|img|ul|ol|li|table|tr|td|th|h[1-6]|script|style|article|section|' +
  'strong|em|b|i|u|blockquote|nav|footer|header|aside|meta|link|figure|figcaption|pre|code|hr|iframe|noscript|title|font|center|small|sup|sub';
const LOOKS_LIKE_HTML = new RegExp(
  `<!doctype\\s+html|<!--[\\s\\S]*?-->|</(?:${KNOWN_TAGS})\\s*>|<(?:${KNOWN_TAGS})(?:\\s[^<>]*)?/?>`,
  'i',
);

/** True when the string contains HTML markup (a known tag, closing tag, doctype or comment). */
export function looksLikeHtml(s: string): boolean {
  return LOOKS_LIKE_HTML.test(s);
}

/**
 * Extracts readable text from an HTML document or fragment without a DOM: drops scripts, styles
 * and page chrome (head, nav, footer, aside), turns block elements into paragraph/line breaks,
 * decodes character references and returns normalised text (paragraphs separated by "\n\n").
 * Tolerates malformed markup: a "<" that does not start a tag is kept as text.
 */
export function htmlToText(html: string): string {
  const out: string[] = [];
  let dropDepth = 0; // > 0 while inside a dropped element
  let preDepth = 0; // > 0 while inside <pre>: source line breaks are meaningful there
  let i = 0;
  const n = html.length;

  // Pending break before the next text: 0 none, 1 line, 2 paragraph. Block tags raise it to
  // their level (so "</li><li>" is one line break, not two); each <br> adds one, so "<br><br>"
  // - a common CMS paragraph separator - becomes a paragraph break.
  let pendingBreak = 0;
  const requestBreak = (level: 1 | 2): void => {
    pendingBreak = Math.max(pendingBreak, level);
  };
  const emitText = (raw: string): void => {
    if (dropDepth > 0 || raw.length === 0) return;
    const text = preDepth > 0 ? raw : raw.replace(HTML_WHITESPACE, ' ');
    if (pendingBreak > 0) {
      if (preDepth === 0 && text === ' ') return; // whitespace between blocks: not content
      out.push(pendingBreak === 2 ? '\n\n' : '\n');
      pendingBreak = 0;
    }
    out.push(decodeEntities(text));
  };

  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      emitText(html.slice(i));
      break;
    }
    emitText(html.slice(i, lt));
    i = lt;

    if (html.startsWith('<!--', i)) {
      const end = html.indexOf('-->', i + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    if (html.startsWith('<![CDATA[', i)) {
      const end = html.indexOf(']]>', i + 9);
      emitText(html.slice(i + 9, end < 0 ? n : end));
      i = end < 0 ? n : end + 3;
      continue;
    }
    if (html[i + 1] === '!' || html[i + 1] === '?') {
      // doctype / processing instruction
      const end = html.indexOf('>', i);
      i = end < 0 ? n : end + 1;
      continue;
    }

    TAG.lastIndex = i;
    const m = TAG.exec(html);
    if (!m) {
      emitText('<');
      i += 1;
      continue;
    }
    i = TAG.lastIndex;
    const closing = m[1] === '/';
    const name = m[2]!.toLowerCase();
    const selfClosing = m[4] === '/';

    if (!closing && RAW_TEXT.has(name) && !selfClosing) {
      const endTag = new RegExp(`</${name}\\s*>`, 'ig');
      endTag.lastIndex = i;
      const end = endTag.exec(html);
      const contentEnd = end ? end.index : n;
      if (!DROPPED.has(name)) emitText(html.slice(i, contentEnd));
      i = end ? endTag.lastIndex : n;
      if (!DROPPED.has(name)) requestBreak(1);
      continue;
    }
    // </head> is optional in HTML: the body start tag ends any unclosed head.
    if (name === 'body' && !closing) dropDepth = 0;
    if (DROPPED.has(name)) {
      if (selfClosing) continue;
      dropDepth = closing ? Math.max(0, dropDepth - 1) : dropDepth + 1;
      continue;
    }
    if (dropDepth > 0) continue;

    if (name === 'pre') preDepth = closing ? Math.max(0, preDepth - 1) : preDepth + 1;
    if (name === 'br') pendingBreak = Math.min(2, pendingBreak + 1);
    else if (PARAGRAPH.has(name)) requestBreak(2);
    else if (LINE.has(name)) requestBreak(1);
    else if (CELL.has(name)) emitText(' ');
  }
  return normalizeText(out.join(''));
}

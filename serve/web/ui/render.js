import { h } from './dom.js';

// Markdown-ish answers rendered as DOM nodes (never innerHTML): paragraphs, lists, quotes, fenced code,
// **bold**, `code`, http(s) links, and citation markers [1] / [1, 2] / [1][2] as buttons.

const INLINE = /(\*\*[^*\n]+\*\*|`[^`\n]+`|\[\d+(?:\s*[,，]\s*\d+)*\]|https?:\/\/[^\s<>()\]]+[^\s<>()\].,;:!?'"。，；：！？）])/g;

function inline(text, onCite, known) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const tok = m[0];
    if (tok.startsWith('**')) out.push(h('strong', tok.slice(2, -2)));
    else if (tok.startsWith('`')) out.push(h('code', tok.slice(1, -1)));
    else if (tok.startsWith('[')) {
      const nums = tok.slice(1, -1).split(/[,，]/).map((s) => Number(s.trim()));
      const valid = nums.filter((n) => known(n));
      if (!valid.length) out.push(tok);
      for (const n of valid) {
        out.push(
          h('button.cite', { type: 'button', dataset: { cite: String(n) }, 'aria-label': `Source ${n}`, title: `Source ${n}`, onclick: () => onCite(n) }, String(n)),
        );
      }
    } else out.push(h('a', { href: tok, target: '_blank', rel: 'noopener noreferrer' }, tok));
    last = m.index + tok.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/**
 * Renders `text` into `el`. onCite(n) opens citation n; known(n) says whether citation n exists
 * (while streaming, citations arrive with the last chunk: unknown markers stay plain text).
 */
export function renderAnswer(el, text, onCite = () => {}, known = () => true) {
  const frag = document.createDocumentFragment();
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let para = [];
  let list = null;
  const flushPara = () => {
    if (!para.length) return;
    const p = h('p');
    para.forEach((line, i) => {
      if (i) p.append(h('br'));
      p.append(...inline(line, onCite, known));
    });
    frag.append(p);
    para = [];
  };
  const flushList = () => {
    if (list) frag.append(list);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*(`{3,})/.exec(line);
    if (fence) {
      flushPara();
      flushList();
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      frag.append(h('pre', h('code', body.join('\n'))));
      continue;
    }
    const item = /^\s*(?:[-*•]|(\d+)[.)])\s+(.*)$/.exec(line);
    if (item) {
      flushPara();
      const tag = item[1] ? 'ol' : 'ul';
      if (!list || list.tagName.toLowerCase() !== tag) {
        flushList();
        list = h(tag);
      }
      list.append(h('li', ...inline(item[2], onCite, known)));
      continue;
    }
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) {
      flushPara();
      flushList();
      // Consecutive quoted lines form one quotation (extractive answers quote passages this way).
      const quoted = [quote[1]];
      while (i + 1 < lines.length && /^\s*>/.test(lines[i + 1])) quoted.push(lines[++i].replace(/^\s*>\s?/, ''));
      frag.append(h('blockquote', ...quoted.flatMap((q, k) => (k ? [h('br'), ...inline(q, onCite, known)] : inline(q, onCite, known)))));
      continue;
    }
    const heading = /^\s*#{1,4}\s+(.*)$/.exec(line);
    if (heading) {
      flushPara();
      flushList();
      frag.append(h('h4', ...inline(heading[1], onCite, known)));
      continue;
    }
    if (!line.trim()) {
      flushPara();
      flushList();
      continue;
    }
    flushList();
    para.push(line);
  }
  flushPara();
  flushList();
  el.replaceChildren(frag);
}

import { api } from './api.js';
import { fmtDate, h } from './dom.js';
import { t } from './i18n.js';

// The passage view: the cited document's full text with the cited chunks highlighted, its title,
// source, date, URL (and page, where the document format has pages).

/** Splits `body` into text and <mark> nodes for the (possibly overlapping) ranges. */
export function highlighted(body, ranges) {
  const sorted = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const merged = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  const out = [];
  let pos = 0;
  for (const r of merged) {
    if (r.start > pos) out.push(body.slice(pos, r.start));
    out.push(h('mark', { tabindex: '-1' }, body.slice(r.start, r.end)));
    pos = r.end;
  }
  if (pos < body.length) out.push(body.slice(pos));
  return out;
}

/** Opens the passage dialog for a citation {doc_id, chunk_ids, title, …}; focus returns to `opener`. */
export async function openPassage(citation, opener) {
  const content = h('div.passage-body', { 'aria-live': 'polite' }, t('loading'));
  const meta = h('dl.meta');
  const heading = h('h2#passage-title', citation.title || t('passage'));
  const dialog = h(
    'dialog.modal.passage',
    { 'aria-labelledby': 'passage-title' },
    h('header', heading, h('button.icon', { type: 'button', 'aria-label': t('close'), title: t('close'), onclick: () => dialog.close() }, '✕')),
    meta,
    content,
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    opener?.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  try {
    const q = citation.chunk_ids?.length ? `?chunks=${citation.chunk_ids.join(',')}` : '';
    const doc = await api(`/v1/documents/${encodeURIComponent(citation.doc_id)}${q}`);
    heading.textContent = doc.title || citation.title;
    const rows = [
      [t('source'), doc.source],
      [t('kind'), doc.kind],
      [t('published'), fmtDate(doc.published_at)],
    ];
    const pages = [...new Set(doc.highlights.map((x) => x.page).filter((p) => p !== undefined && p !== null))];
    if (pages.length) rows.push([t('page'), pages.join(', ')]);
    meta.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', k), h('dd', v ?? '—')]));
    if (doc.url && /^https?:\/\//i.test(doc.url)) meta.append(h('dt', 'URL'), h('dd', h('a', { href: doc.url, target: '_blank', rel: 'noopener noreferrer' }, doc.url)));
    content.replaceChildren(...highlighted(doc.body, doc.highlights));
    const first = content.querySelector('mark');
    if (first) first.scrollIntoView({ block: 'center' });
  } catch (err) {
    content.replaceChildren(h('p.error', err.status === 404 ? t('notVisible') : `${t('errorPrefix')}: ${err.message}`));
  }
}

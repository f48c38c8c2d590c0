import { api } from '../api.js';
import { fmtDate, fmtNum, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { confirmDialog, field, select, table, toast } from './common.js';

// Documents: search and filter (source, kind, date, ACL group), a document's chunks with their
// embedding state, delete.

const PAGE = 25;

async function detail(root, id) {
  const d = await api(`/v1/admin/documents/${encodeURIComponent(id)}`);
  const del = h('button.danger', {
    type: 'button',
    id: 'delete-doc',
    disabled: Boolean(d.deleted_at),
    onclick: async () => {
      if (!(await confirmDialog(t('confirmDelete', { name: d.title || d.external_id }), t('delete'), true))) return;
      try {
        const r = await api(`/v1/admin/documents/${d.id}`, { method: 'DELETE' });
        toast(r.note);
        location.hash = '#documents';
      } catch (err) {
        toast(err.message, true);
      }
    },
  }, t('delete'));
  root.append(
    h('h1', h('a', { href: '#documents' }, t('backToList')), d.title || d.external_id, del),
    h(
      'div.panel',
      h(
        'dl.kv',
        [
          [t('source'), d.source],
          ['id', d.external_id],
          [t('kind'), d.kind],
          [t('published'), fmtDate(d.published_at)],
          ['URL', d.url ? h('a', { href: d.url, target: '_blank', rel: 'noopener noreferrer' }, d.url) : '—'],
          [t('groups'), d.acl_groups.length ? d.acl_groups.join(', ') : t('publicOnly')],
          ['tags', d.tags.join(', ') || '—'],
          [t('run'), d.last_run_id ? h('a', { href: `#runs/${d.last_run_id}` }, `#${d.last_run_id}`) : '—'],
          [t('deleted'), d.deleted_at ? fmtDate(d.deleted_at, true) : '—'],
        ].flatMap(([k, v]) => [h('dt', k), h('dd', v)]),
      ),
    ),
    h('h2', `${t('chunks')} (${d.chunks.length})`),
    ...d.chunks.map((c) =>
      h('div.chunk', h('div.chunk-head', `#${c.ordinal}`, `id ${c.id}`, `${c.token_count} tokens`, `${c.start_offset}–${c.end_offset}`, pill(t(c.embedding), c.embedding === 'indexed' ? 'ok' : 'warn')), c.text),
    ),
  );
}

export async function documentsPage(root, { args }) {
  if (args[0]) return detail(root, args[0]);
  const state = { q: '', source: '', kind: '', from: '', to: '', group: '', offset: 0 };
  const toolbar = h('form.toolbar', { role: 'search' });
  const list = h('div#documents-list');
  root.append(h('h1', t('documents')), toolbar, list);
  const load = async () => {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    for (const k of ['q', 'source', 'kind', 'from', 'to', 'group']) if (state[k]) p.set(k, state[k]);
    const res = await api(`/v1/admin/documents?${p}`);
    const q = h('input#doc-q', { type: 'search', value: state.q, placeholder: t('searchDocs') });
    const source = select('doc-source', [['', t('all')], ...res.facets.sources.map((s) => [s.value, `${s.value} (${s.n})`])], state.source);
    const kind = select('doc-kind', [['', t('all')], ...res.facets.kinds.map((s) => [s.value, `${s.value} (${s.n})`])], state.kind);
    const group = select('doc-group', [['', t('all')], ['-', t('publicOnly')], ...res.facets.groups.map((s) => [s.value, `${s.value} (${s.n})`])], state.group);
    const from = h('input#doc-from', { type: 'date', value: state.from });
    const to = h('input#doc-to', { type: 'date', value: state.to });
    toolbar.replaceChildren(field(t('search'), q), field(t('source'), source), field(t('kind'), kind), field(t('group'), group), field(t('from'), from), field(t('to'), to), h('button.primary', { type: 'submit' }, t('filter')));
    toolbar.onsubmit = (e) => {
      e.preventDefault();
      Object.assign(state, { q: q.value.trim(), source: source.value, kind: kind.value, group: group.value, from: from.value, to: to.value, offset: 0 });
      load().then(() => document.getElementById('doc-q')?.focus());
    };
    list.replaceChildren(
      table(
        [
          { label: t('title'), render: (d) => h('a', { href: `#documents/${d.id}` }, d.title || d.external_id) },
          { label: t('source'), key: 'source' },
          { label: t('kind'), key: 'kind' },
          { label: t('published'), render: (d) => fmtDate(d.published_at) },
          { label: t('groups'), render: (d) => (d.acl_groups.length ? d.acl_groups.map((g) => pill(g, 'info')) : h('span.muted', t('publicOnly'))) },
          { label: t('chunks'), num: true, render: (d) => fmtNum(d.chunks) },
          { label: t('embedding'), render: (d) => (d.pending_vectors ? pill(`${d.pending_vectors} ${t('pending')}`, 'warn') : pill(t('indexed'), 'ok')) },
        ],
        res.data,
        { onRow: (d) => (location.hash = `#documents/${d.id}`) },
      ),
      h(
        'div.pager',
        h('span', res.total ? t('ofTotal', { from: fmtNum(state.offset + 1), to: fmtNum(state.offset + res.data.length), total: fmtNum(res.total) }) : ''),
        h('button', { type: 'button', disabled: state.offset === 0, onclick: () => ((state.offset = Math.max(0, state.offset - PAGE)), load()) }, t('prev')),
        h('button', { type: 'button', disabled: state.offset + PAGE >= res.total, onclick: () => ((state.offset += PAGE), load()) }, t('next')),
      ),
    );
  };
  await load();
  return undefined;
}

import { api } from '../api.js';
import { fmtDate, fmtNum, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { field, select, table } from './common.js';

// Retrieval test ("hit testing"): a query with optional filters, optionally as another key (its
// ACL applies) → ranked hits with the per-leg score breakdown.

const num = (v, d = 4) => (v === null || v === undefined ? '—' : fmtNum(v, d));

/** Why a hit sits where it does: its position by the fusion score, an exact match, the reranker, each stage that moved it (the API's snake_case fields). */
const orderWhy = (s) =>
  [
    s.rrf_rank != null ? `fusion #${s.rrf_rank}` : '',
    s.exact ? `exact ${s.exact}` : '',
    typeof s.rerank === 'number' ? `rerank ${fmtNum(s.rerank, 3)}` : '',
    ...(s.moves ?? []).map((m) => `${m.stage} ${m.from}→${m.to}`),
  ]
    .filter(Boolean)
    .join(' · ') || '—';

export async function retrievalPage(root) {
  const keys = await api('/v1/admin/keys');
  const query = h('input#rt-query', { type: 'search', required: true, style: 'min-width:320px', placeholder: t('query') });
  const topK = h('input#rt-k', { type: 'number', min: '1', max: '100', value: '10', style: 'width:70px' });
  const mode = select('rt-mode', [['hybrid', 'hybrid'], ['dense', 'dense'], ['bm25', 'bm25']], 'hybrid');
  const asKey = select('rt-key', [['', t('asAdmin')], ...keys.data.filter((k) => !k.revoked_at).map((k) => [String(k.id), `${k.name} (${k.groups.join(', ') || t('publicOnly')})`])], '');
  const kind = select('rt-kind', [['', t('all')], ['news', 'news'], ['comment', 'comment'], ['post', 'post']], '');
  const from = h('input#rt-from', { type: 'date' });
  const out = h('div#rt-results', { 'aria-live': 'polite' });
  const form = h(
    'form.toolbar',
    {
      role: 'search',
      onsubmit: async (e) => {
        e.preventDefault();
        out.replaceChildren(h('p.muted', t('loading')));
        const filters = {};
        if (kind.value) filters.kinds = [kind.value];
        if (from.value) filters.from = from.value;
        const body = { query: query.value, top_k: Number(topK.value), mode: mode.value, ...(Object.keys(filters).length ? { filters } : {}), ...(asKey.value ? { as_key: Number(asKey.value) } : {}) };
        try {
          const r = await api('/v1/admin/retrieve', { method: 'POST', body });
          out.replaceChildren(
            ...(r.degraded.length ? r.degraded.map((d) => h('p.notice.notice-warn', d)) : []),
            r.ranking ? h('p.muted.small', `recency: ${r.ranking.recency} · rerank: ${r.ranking.rerank}`) : null,
            h('p.muted.small', `${t('timings')}: ${Object.entries(r.timings).map(([k, v]) => `${k} ${fmtNum(v, 1)} ms`).join(' · ')}`),
            table(
              [
                { label: t('rank'), num: true, render: (x) => String(r.data.indexOf(x) + 1) },
                { label: t('title'), render: (x) => h('div', h('a', { href: `#documents/${x.doc_id}` }, x.title || x.external_id), h('div.small.muted', x.text.slice(0, 220))) },
                { label: t('source'), render: (x) => h('span', x.source, h('div.small.muted', `${x.kind} · ${fmtDate(x.published_at)}`)) },
                { label: `${t('dense')} #`, num: true, render: (x) => num(x.score.dense?.rank, 0) },
                { label: t('dense'), num: true, render: (x) => num(x.score.dense?.score) },
                { label: `${t('bm25')} #`, num: true, render: (x) => num(x.score.bm25?.rank, 0) },
                { label: t('bm25'), num: true, render: (x) => num(x.score.bm25?.score) },
                // The fusion stage's score (score.rrf keeps its v1 name) and which fusion made it.
                { label: t('fusion'), num: true, render: (x) => h('span', num(x.score.rrf), h('div.small.muted', x.score.fusion?.method ?? 'rrf')) },
                { label: t('recency'), num: true, render: (x) => num(x.score.recency, 3) },
                { label: t('fused'), num: true, render: (x) => h('strong', num(x.score.fused)) },
                { label: t('orderWhy'), render: (x) => h('span.small', orderWhy(x.score)) },
              ],
              r.data,
            ),
            r.as_key ? h('p.small', pill(`${t('asKey')}: ${r.as_key.name}`, 'info')) : null,
          );
        } catch (err) {
          out.replaceChildren(h('p.notice.notice-bad', err.message));
        }
      },
    },
    field(t('query'), query),
    field(t('topK'), topK),
    field(t('mode'), mode),
    field(t('kind'), kind),
    field(t('from'), from),
    field(t('asKey'), asKey),
    h('button.primary', { type: 'submit' }, t('test')),
  );
  root.append(h('h1', t('retrieval')), form, out);
  query.focus();
}

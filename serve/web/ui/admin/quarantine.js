import { api } from '../api.js';
import { fmtDate, fmtNum, h } from '../dom.js';
import { reasonText, t } from '../i18n.js';
import { field, select } from './common.js';

// Quarantine: rejected records filtered by run / reason / source, each with its reason in words
// and the raw record exactly as read.

const PAGE = 50;

export async function quarantinePage(root, { args }) {
  const state = { run: args[0] ?? '', source: args[1] ?? '', reason: args[2] ?? '', offset: 0 };
  const list = h('div#quarantine-list');
  const toolbar = h('form.toolbar', { role: 'search' });
  root.append(h('h1', t('quarantine')), toolbar, list);

  const load = async () => {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    if (state.run) q.set('run', state.run);
    if (state.source) q.set('source', state.source);
    if (state.reason) q.set('reason', state.reason);
    const res = await api(`/v1/admin/quarantine?${q}`);
    const runInput = h('input#q-run', { type: 'number', min: '1', value: state.run, style: 'width:90px' });
    const reasonSel = select('q-reason', [['', t('all')], ...Object.entries(res.facets.reasons).map(([r, n]) => [r, `${r} (${n})`])], state.reason);
    const sourceSel = select('q-source', [['', t('all')], ...res.facets.sources.map((s) => [s.value, `${s.value} (${s.n})`])], state.source);
    toolbar.replaceChildren(field(t('run'), runInput), field(t('reason'), reasonSel), field(t('source'), sourceSel), h('button.primary', { type: 'submit' }, t('filter')));
    toolbar.onsubmit = (e) => {
      e.preventDefault();
      Object.assign(state, { run: runInput.value, reason: reasonSel.value, source: sourceSel.value, offset: 0 });
      load();
    };
    reasonSel.onchange = sourceSel.onchange = () => toolbar.requestSubmit();
    if (!res.data.length) {
      list.replaceChildren(h('p.muted', t('noData')));
      return;
    }
    list.replaceChildren(
      ...res.data.map((q) =>
        h(
          'details.panel.q-item',
          h('summary', h('strong', q.reason), ' · ', q.source, ' · ', h('code', q.locator ?? '—'), ' · ', `${t('run')} #${q.run_id ?? '—'}`, ' · ', h('span.muted', fmtDate(q.created_at, true))),
          h('dl.kv', h('dt', t('explanation')), h('dd', reasonText(q.reason, q.explanation)), h('dt', t('detail')), h('dd', q.detail ?? '—'), h('dt', t('locator')), h('dd', q.locator ?? '—')),
          h('h2', t('rawRecord')),
          h('pre.raw', q.raw),
        ),
      ),
      h(
        'div.pager',
        h('span', t('ofTotal', { from: fmtNum(state.offset + 1), to: fmtNum(state.offset + res.data.length), total: fmtNum(res.total) })),
        h('button', { type: 'button', disabled: state.offset === 0, onclick: () => ((state.offset = Math.max(0, state.offset - PAGE)), load()) }, t('prev')),
        h('button', { type: 'button', disabled: state.offset + PAGE >= res.total, onclick: () => ((state.offset += PAGE), load()) }, t('next')),
      ),
    );
  };
  await load();
}

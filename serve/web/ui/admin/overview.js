import { api } from '../api.js';
import { append, fmtDate, fmtNum, fmtSeconds, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { runTone, table, toast } from './common.js';

// Overview: store counts, index versions and the state of each retrieval leg, readiness, last runs.

function card(label, value, sub, tone) {
  return h('div.card', h('div.label', label), h('div.value', tone ? pill(value, tone) : value), sub ? h('div.sub', sub) : null);
}

export async function startRun() {
  const r = await api('/v1/admin/ingest', { method: 'POST' });
  toast(t('runStarted', { id: r.run_id }));
  location.hash = `#runs/${r.run_id}`;
}

export async function overviewPage(root) {
  const [index, runs, ready] = await Promise.all([
    api('/v1/admin/index'),
    api('/v1/admin/runs?limit=5'),
    fetch('/readyz').then((r) => r.json()).catch(() => null),
  ]);
  const active = index.versions.find((v) => v.active);
  const reader = index.reader ?? {};
  const denseOk = Boolean(reader.loaded);
  const denseSub = denseOk ? `v${reader.version ?? active?.id} · ${fmtNum(active?.vectors)} vectors` : (typeof reader.error === 'string' ? reader.error : reader.error?.message) || (active ? '' : 'no index version yet: BM25 only');
  append(root, [
    h('h1', t('overview'), h('button.primary', { type: 'button', id: 'run-now', onclick: () => startRun().catch((e) => toast(e.message, true)) }, t('runNow'))),
    h(
      'div.cards',
      card(t('docsCount'), fmtNum(index.store.documents)),
      card(t('chunksCount'), fmtNum(index.store.chunks)),
      card(t('pendingVectors'), fmtNum(index.store.pending_vectors), null, index.store.pending_vectors > 0 ? 'warn' : null),
      card(t('indexVersions'), fmtNum(index.versions.length), active ? `${t('activeVersion')}: v${active.id} · ${active.model_id}` : '—'),
      card(t('denseState'), denseOk ? t('loaded') : t('notLoaded'), denseSub, denseOk ? 'ok' : 'warn'),
      card(t('bm25State'), index.store.chunks > 0 ? t('available') : '—', `${fmtNum(index.store.chunks)} ${t('chunks').toLowerCase()}`, index.store.chunks > 0 ? 'ok' : 'muted'),
      card(t('health'), ready?.status === 'ready' ? t('ready') : t('notReady'), ready ? Object.entries(ready.checks).map(([k, c]) => `${k}: ${c.ok ? 'ok' : c.detail ?? 'failing'}${c.degraded ? ' (degraded)' : ''}`).join(' · ') : '', ready?.status === 'ready' ? 'ok' : 'bad'),
    ),
    h('h2', t('lastRuns')),
    table(
      [
        { label: '#', render: (r) => h('a', { href: `#runs/${r.id}` }, `#${r.id}`) },
        { label: t('status'), render: (r) => pill(r.status, runTone(r.status)) },
        { label: t('started'), render: (r) => fmtDate(r.started_at, true) },
        { label: t('trigger'), key: 'trigger' },
        { label: t('new'), num: true, render: (r) => fmtNum(r.report?.docs?.new) },
        { label: t('quarantined'), num: true, render: (r) => fmtNum(r.report?.docs?.quarantined) },
        { label: t('duration'), num: true, render: (r) => fmtSeconds(r.report?.seconds?.total) },
      ],
      runs.data,
      { onRow: (r) => (location.hash = `#runs/${r.id}`) },
    ),
    index.versions.length
      ? [
          h('h2', t('indexVersions')),
          table(
            [
              { label: 'v', render: (v) => `v${v.id}` },
              { label: t('status'), render: (v) => (v.active ? pill(t('active'), 'ok') : pill('—')) },
              { label: 'model', key: 'model_id' },
              { label: 'dim', num: true, key: 'dim' },
              { label: 'vectors', num: true, render: (v) => fmtNum(v.vectors) },
              { label: t('created'), render: (v) => fmtDate(v.created_at, true) },
            ],
            index.versions.slice(0, 8),
          ),
        ]
      : null,
  ]);
}

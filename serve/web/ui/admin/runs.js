import { api, readSse, getKey } from '../api.js';
import { fmtDate, fmtNum, fmtSeconds, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { runTone, table, toast } from './common.js';
import { startRun } from './overview.js';

// Ingestion runs: the list with per-stage timings and counts, "run now", and one run's report —
// streamed live (server-sent events over fetch) while it is running.

const STAGES = ['read', 'clean', 'dedupe', 'chunk', 'store', 'delete', 'embed', 'index'];

function stageBars(seconds) {
  if (!seconds) return h('p.muted', '—');
  const max = Math.max(0.001, ...STAGES.map((s) => seconds[s] ?? 0));
  return h(
    'div.bars',
    STAGES.filter((s) => seconds[s] !== undefined).map((s) =>
      h('div.bar-row', h('span', s), h('div.bar-track', h('div.bar', { style: `width:${((seconds[s] ?? 0) / max) * 100}%` })), h('span.num', fmtSeconds(seconds[s]))),
    ),
    h('div.bar-row', h('strong', 'total'), h('span'), h('strong', fmtSeconds(seconds.total))),
  );
}

function countsList(report) {
  const d = report?.docs ?? {};
  const rows = [
    [t('seen'), d.seen],
    [t('new'), d.new],
    [t('changed'), d.changed],
    [t('unchanged'), d.unchanged],
    [t('deleted'), d.deleted],
    [t('quarantined'), d.quarantined],
    [t('duplicates'), d.duplicates],
    [t('chunksAdded'), report?.chunks?.added],
    [t('chunksRemoved'), report?.chunks?.removed],
  ];
  return h('dl.kv', rows.flatMap(([k, v]) => [h('dt', k), h('dd', fmtNum(v))]));
}

function reportView(run) {
  const r = run.report;
  const parts = [
    h('dl.kv', [
      [t('status'), pill(run.status, runTone(run.status))],
      [t('started'), fmtDate(run.started_at, true)],
      [t('finished'), fmtDate(run.finished_at, true)],
      [t('trigger'), run.trigger],
      [t('sourcesFilter'), (run.sources ?? []).join(', ')],
    ].flatMap(([k, v]) => [h('dt', k), h('dd', v)])),
  ];
  if (run.error) parts.push(h('p.notice.notice-bad', `${t('error')}: ${run.error}`));
  if (r) {
    parts.push(h('div.grid-2', h('div.panel', h('h2', t('counts')), countsList(r)), h('div.panel', h('h2', t('stageTimings')), stageBars(r.seconds))));
    if (r.sources) {
      parts.push(
        h('h2', t('sourcesFilter')),
        table(
          [
            { label: t('source'), render: ([name]) => name },
            { label: t('seen'), num: true, render: ([, s]) => fmtNum(s.seen) },
            { label: t('quarantined'), num: true, render: ([name, s]) => (s.quarantined ? h('a', { href: `#quarantine/${run.id}/${encodeURIComponent(name)}` }, fmtNum(s.quarantined)) : '0') },
            { label: t('deleted'), num: true, render: ([, s]) => fmtNum(s.deleted) },
            { label: t('error'), render: ([, s]) => s.error ?? '' },
          ],
          Object.entries(r.sources),
        ),
      );
    }
    if (r.embedding) {
      parts.push(h('p.muted.small', `embedding: ${r.embedding.model ?? r.embedding.unavailable ?? '—'} · cache hits ${fmtNum(r.embedding.cache_hits)} · embedded ${fmtNum(r.embedding.embedded)} · pending ${fmtNum(r.embedding.pending)}${r.index ? ` · index v${r.index.version ?? '—'} (${fmtNum(r.index.vectors)} vectors)` : ''}`));
    }
    if (r.warnings?.length) parts.push(h('h2', t('warnings')), h('ul', r.warnings.map((w) => h('li', w))));
  }
  return parts;
}

async function runDetail(root, id) {
  const head = h('h1', h('a', { href: '#runs' }, t('backToList')), `${t('run')} #${id}`);
  const live = h('section#live.panel', { 'aria-live': 'polite' });
  const body = h('div#run-report');
  root.append(head, live, body);
  const run = await api(`/v1/admin/runs/${encodeURIComponent(id)}`);
  body.replaceChildren(...reportView(run));
  if (run.status !== 'running') {
    live.hidden = true;
    return undefined;
  }
  // Live progress until the run ends, then its report.
  const ctrl = new AbortController();
  const bar = h('div', { style: 'width:0%' });
  const text = h('p#live-text', t('loading'));
  live.replaceChildren(h('h2', t('liveProgress')), h('div.progress', bar), text);
  (async () => {
    const res = await fetch(`/v1/admin/runs/${encodeURIComponent(id)}/events`, { headers: getKey() ? { authorization: `Bearer ${getKey()}` } : {}, signal: ctrl.signal });
    await readSse(res, ({ event, data }) => {
      if (event === 'progress') {
        text.textContent = `${fmtNum(data.documents_written)} ${t('docsWritten')} · ${fmtNum(data.quarantined)} ${t('quarantined')} · ${fmtNum(data.pending_vectors)} ${t('pendingVectors').toLowerCase()} · ${t('elapsed')} ${fmtSeconds(data.elapsed_s)}`;
        bar.style.width = `${Math.min(95, 10 + data.elapsed_s * 5)}%`;
      } else if (event === 'report') {
        bar.style.width = '100%';
        text.textContent = `${t('report')}: ${data.status}`;
        body.replaceChildren(...reportView(data));
        live.dataset.done = data.status;
      }
    });
  })().catch((err) => err.name !== 'AbortError' && toast(err.message, true));
  return () => ctrl.abort();
}

export async function runsPage(root, { args }) {
  if (args[0]) return runDetail(root, args[0]);
  const runs = await api('/v1/admin/runs?limit=50');
  root.append(
    h('h1', t('runs'), h('button.primary', { type: 'button', id: 'run-now', onclick: () => startRun().catch((e) => toast(e.message, true)) }, t('runNow'))),
    table(
      [
        { label: '#', render: (r) => h('a', { href: `#runs/${r.id}` }, `#${r.id}`) },
        { label: t('status'), render: (r) => pill(r.status, runTone(r.status)) },
        { label: t('started'), render: (r) => fmtDate(r.started_at, true) },
        { label: t('trigger'), key: 'trigger' },
        { label: t('sourcesFilter'), render: (r) => (r.sources ?? []).join(', ') },
        { label: t('seen'), num: true, render: (r) => fmtNum(r.report?.docs?.seen) },
        { label: t('new'), num: true, render: (r) => fmtNum(r.report?.docs?.new) },
        { label: t('changed'), num: true, render: (r) => fmtNum(r.report?.docs?.changed) },
        { label: t('deleted'), num: true, render: (r) => fmtNum(r.report?.docs?.deleted) },
        { label: t('quarantined'), num: true, render: (r) => fmtNum(r.report?.docs?.quarantined) },
        ...['read', 'chunk', 'embed', 'index'].map((s) => ({ label: s, num: true, render: (r) => fmtSeconds(r.report?.seconds?.[s]) })),
        { label: t('duration'), num: true, render: (r) => fmtSeconds(r.report?.seconds?.total) },
      ],
      runs.data,
      { onRow: (r) => (location.hash = `#runs/${r.id}`) },
    ),
  );
  return undefined;
}

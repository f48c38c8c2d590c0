import { api } from '../api.js';
import { fmtDate, fmtNum, h, pill } from '../dom.js';
import { t } from '../i18n.js';
import { confirmDialog, runTone, table, toast } from './common.js';

// Fine-tuning: runs with their loss curves, eval reports as charts (base vs adapter, with and
// without retrieval; EM / F1 / ROUGE-L), adapters with gated deploy and rollback.

const COLORS = ['#2456d6', '#e07a1f', '#127a4a', '#9b3fc8', '#b42318', '#0f8fa3'];

function chart(canvas, config) {
  if (!window.Chart) {
    canvas.replaceWith(h('p.notice.notice-warn', 'chart.js did not load'));
    return null;
  }
  return new window.Chart(canvas, { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
}

function lossChart(canvas, loss) {
  return chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: t('trainLoss'), data: loss.train.map((p) => ({ x: p.step, y: p.loss })), borderColor: COLORS[0], backgroundColor: COLORS[0], pointRadius: 0, borderWidth: 2, tension: 0.2 },
        { label: t('evalLoss'), data: loss.eval.map((p) => ({ x: p.step, y: p.eval_loss })), borderColor: COLORS[1], backgroundColor: COLORS[1], pointRadius: 3, borderWidth: 2 },
      ],
    },
    options: {
      parsing: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: { x: { type: 'linear', title: { display: true, text: t('step') }, max: loss.total_steps ?? undefined }, y: { title: { display: true, text: 'loss' } } },
    },
  });
}

function evalChart(canvas, report) {
  const settings = report.settings.filter((s) => s.status === 'ok');
  const metrics = [
    ['EM', 'em'],
    ['F1', 'f1'],
    ['ROUGE-L', 'rouge_l'],
  ];
  return chart(canvas, {
    type: 'bar',
    data: {
      labels: metrics.map(([label]) => label),
      datasets: settings.map((s, i) => ({ label: s.setting, data: metrics.map(([, k]) => s[k]), backgroundColor: COLORS[i % COLORS.length] })),
    },
    options: { scales: { y: { min: 0, max: 1 } }, plugins: { legend: { position: 'bottom' } } },
  });
}

export async function finetunePage(root) {
  const charts = [];
  const [runs, adapters] = await Promise.all([api('/v1/admin/finetune/runs'), api('/v1/admin/finetune/adapters')]);
  const runPanel = h('div#ft-run');
  const showRun = async (name) => {
    const r = await api(`/v1/admin/finetune/runs/${encodeURIComponent(name)}`);
    const canvas = h('canvas#loss-chart', { role: 'img', 'aria-label': `${t('lossCurve')} ${r.name}` });
    runPanel.replaceChildren(
      h(
        'div.panel',
        h('h2', `${t('lossCurve')} · ${r.name}`),
        r.loss.train.length ? h('div.chart-box', canvas) : h('p.muted', t('noData')),
        h('p.small.muted', `${r.base_model} · ${r.method} · ${fmtNum(r.loss.train.length)} / ${fmtNum(r.loss.total_steps)} ${t('step').toLowerCase()}`),
        r.error_tail ? h('pre.raw', r.error_tail) : null,
      ),
    );
    if (r.loss.train.length) charts.push(lossChart(canvas, r.loss));
  };
  const act = async (fn) => {
    try {
      await fn();
    } catch (err) {
      toast(err.message, true);
    }
  };
  const adapterRows = adapters.data;
  root.append(
    h('h1', t('finetune')),
    h('h2', t('trainingRuns')),
    table(
      [
        { label: t('name'), render: (r) => h('strong', r.name) },
        { label: t('status'), render: (r) => pill(r.status, runTone(r.status)) },
        { label: 'base', key: 'base_model' },
        { label: 'method', key: 'method' },
        { label: t('created'), render: (r) => fmtDate(r.created_at, true) },
        { label: t('finished'), render: (r) => fmtDate(r.finished_at, true) },
      ],
      runs.data,
      { onRow: (r) => showRun(r.name) },
    ),
    runPanel,
    h('h2', `${t('adapters')} · ${adapters.assistant}: ${adapters.active ?? 'base model'}`),
    table(
      [
        { label: t('version'), render: (a) => h('strong', a.version) },
        { label: t('status'), render: (a) => pill(a.status, a.status === 'active' ? 'ok' : a.status === 'retired' ? 'muted' : 'info') },
        { label: t('created'), render: (a) => fmtDate(a.created_at) },
        { label: t('gate'), render: (a) => (a.gate ? h('span', pill(a.gate.pass ? 'pass' : 'refused', a.gate.pass ? 'ok' : 'bad'), h('div.small.muted', a.gate.reason)) : '—') },
        {
          label: '',
          render: (a) =>
            a.status === 'active'
              ? ''
              : h('button.primary', {
                  type: 'button',
                  dataset: { deploy: a.version },
                  onclick: () =>
                    act(async () => {
                      if (!(await confirmDialog(t('confirmDeploy', { v: a.version, a: adapters.assistant }), t('deploy')))) return;
                      const r = await api(`/v1/admin/finetune/adapters/${encodeURIComponent(a.version)}/deploy`, { method: 'POST', body: {} });
                      toast(`${r.message}${r.instructions?.length ? `\n${r.instructions.join('\n')}` : ''}`);
                    }),
                }, t('deploy')),
        },
      ],
      adapterRows,
    ),
    h('div.actions', { style: 'justify-content:flex-start' }, h('button', {
      type: 'button',
      id: 'rollback',
      disabled: !adapters.active,
      onclick: () =>
        act(async () => {
          if (!(await confirmDialog(t('confirmRollback', { a: adapters.assistant }), t('rollback'), true))) return;
          const r = await api('/v1/admin/finetune/rollback', { method: 'POST', body: {} });
          toast(`${r.assistant}: ${r.from} → ${r.to ?? 'base model'}`);
          location.reload();
        }),
    }, t('rollback'))),
  );
  // Eval reports: one chart per adapter that has one.
  const withReports = adapterRows.filter((a) => a.eval_report);
  if (withReports.length) {
    root.append(h('h2', t('evalReport')));
    const grid = h('div.grid-2');
    root.append(grid);
    for (const a of withReports) {
      const canvas = h('canvas', { role: 'img', 'aria-label': `${t('evalReport')} ${a.version}`, dataset: { evalChart: a.version } });
      const s = a.eval_report.settings;
      grid.append(
        h(
          'div.panel',
          h('h2', `${a.version} · ${a.eval_report.samples} samples`),
          h('div.chart-box', canvas),
          h('p.small.muted', s.map((x) => `${x.setting}: score ${fmtNum(x.score, 3)}${x.refusal_accuracy != null ? `, refusal ${fmtNum(x.refusal_accuracy, 2)}` : ''}`).join(' · ')),
        ),
      );
      charts.push(evalChart(canvas, a.eval_report));
    }
  }
  if (adapters.history.length) {
    root.append(
      h('h2', t('deployments')),
      table(
        [
          { label: t('created'), render: (d) => fmtDate(d.at, true) },
          { label: 'action', key: 'action' },
          { label: t('version'), render: (d) => d.adapter ?? 'base model' },
          { label: 'previous', render: (d) => d.previous ?? '—' },
          { label: 'note', render: (d) => d.note ?? '' },
        ],
        adapters.history,
      ),
    );
  }
  if (runs.data.length) await showRun(runs.data[0].name);
  return () => charts.forEach((c) => c?.destroy());
}

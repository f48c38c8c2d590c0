import { diffRecords, type DiffLine } from './repro.ts';
import type { RunRecord } from './store.ts';

// Text for `kb finetune show RUN` and `kb finetune diff A B` (the CLI only prints it).

const fmt = (v: unknown): string => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

/** The reproducibility record as readable lines (empty when the run predates migration 015). */
export function reproLines(run: RunRecord): string[] {
  const r = run.repro;
  if (!r) return ['reproducibility: not recorded (run created before the record existed)'];
  const lines = [
    'reproducibility',
    `  code        git ${r.git.commit ?? 'unknown (not a git checkout)'}${r.git.dirty ? ' + uncommitted changes' : ''} · kb ${r.kb_version ?? '?'} · node ${r.node}`,
    `  config      ${r.config_sha256} (run.json in ${run.path})`,
    `  data        ${r.data_hash ?? 'files missing at creation'}${r.measured?.dataset_hash && r.data_hash && r.measured.dataset_hash !== r.data_hash ? ` — the trainer saw ${r.measured.dataset_hash}: the data changed after creation` : ''}`,
    `  seed        ${r.seed}`,
  ];
  const p = r.planner;
  if (p) {
    lines.push(
      `  planner     ${p.model} · ${p.method} · ${p.gpu}: ${p.fits ? 'fits' : 'does NOT fit'} in ${p.memory_gb} GB, ${p.tokens_per_s} tokens/s (${p.throughput_source})` +
        (p.time_hours != null ? `, ${p.time_hours} h` : '') +
        (p.cost != null ? `, ${p.cost} ${p.currency}` : ''),
    );
  } else lines.push('  planner     no estimate (no GPU given)');
  const m = r.measured;
  if (m) {
    const vs = p && m.tokens_per_s && p.tokens_per_s ? ` (${(m.tokens_per_s / p.tokens_per_s).toFixed(2)}× the estimate)` : '';
    lines.push(`  measured    ${m.tokens_per_s ?? '?'} tokens/s${vs} · peak memory ${m.peak_memory_gb ?? 'n/a (CPU)'} GB · ${m.runtime_s ?? '?'} s · ${m.tokens_trained ?? '?'} tokens`);
    const e = m.environment ?? {};
    const gpus = Array.isArray(e.gpus) && e.gpus.length ? (e.gpus as string[]).join(', ') : 'none (CPU)';
    lines.push(
      `  environment python ${fmt(e.python)} · torch ${fmt(e.torch)} · transformers ${fmt(e.transformers)} · peft ${fmt(e.peft)} · accelerate ${fmt(e.accelerate)}`,
      `              CUDA ${fmt(e.cuda ?? 'none')} · driver ${fmt(e.driver ?? 'none')} · GPU ${gpus}`,
    );
  } else lines.push(`  measured    nothing yet (status ${run.status})`);
  return lines;
}

/** Everything `diff` compares: the resolved config, the repro record, the trainer's metrics. */
export function comparable(run: RunRecord): Record<string, unknown> {
  return { config: run.config, repro: run.repro ?? {}, metrics: run.metrics ?? {} };
}

// Differ by construction or carry no information about how the runs differ.
const DIFF_IGNORE = [/^config\.run_name$/, /^config\.output_dir$/, /^config\.merge\.output_dir$/, /^repro\.captured_at$/, /^repro\.config_sha256$/, /^metrics\.(adapter_dir|merged_dir|run_name)$/];

export function diffRuns(a: RunRecord, b: RunRecord): DiffLine[] {
  return diffRecords(comparable(a), comparable(b), DIFF_IGNORE);
}

export function diffLines(a: RunRecord, b: RunRecord, diff = diffRuns(a, b)): string[] {
  if (!diff.length) return [`${a.name} and ${b.name}: same config, data, code and environment`];
  const width = Math.min(48, Math.max(...diff.map((d) => d.key.length)));
  return [`${'key'.padEnd(width)}  ${a.name}  →  ${b.name}`, ...diff.map((d) => `${d.key.padEnd(width)}  ${fmt(d.a)}  →  ${fmt(d.b)}`)];
}

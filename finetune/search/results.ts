import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config/index.ts';

// What search.py reports (its search_summary event / results.json), the results table, and
// `--apply`: the best trial's parameters become the next run's config.

export interface TrialRow {
  number: number;
  state: 'COMPLETE' | 'PRUNED' | 'FAIL' | 'RUNNING' | 'WAITING';
  value: number | null;
  params: Record<string, unknown>;
  steps: number | null;
  runtime_s: number | null;
  last_eval_loss: number | null;
  error: string | null;
}

export interface SearchResults {
  study: string;
  objective: string;
  best: TrialRow | null;
  trials: TrialRow[];
  importances: Record<string, number> | null;
  importance_error: string | null;
  /** The best trial's change to the run config as dotted keys (search.py's apply_params). */
  apply_overrides: Record<string, unknown> | null;
  train_samples: number;
  interrupted?: boolean;
}

const STATE_ORDER: Record<string, number> = { COMPLETE: 0, PRUNED: 1, FAIL: 2, RUNNING: 3, WAITING: 4 };

/** Completed trials by objective (lower is better), then pruned by their last loss, then failed. */
export function sortTrials(trials: TrialRow[]): TrialRow[] {
  const key = (t: TrialRow) => (t.state === 'COMPLETE' ? t.value : t.last_eval_loss) ?? Infinity;
  return [...trials].sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || key(a) - key(b) || a.number - b.number);
}

const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v ?? '-'));

export function resultsTable(r: SearchResults): string[] {
  const names = [...new Set(r.trials.flatMap((t) => Object.keys(t.params)))];
  const header = ['#', 'trial', 'state', 'val loss', 'steps', ...names];
  const rows = sortTrials(r.trials).map((t, i) => [String(i + 1), String(t.number), t.state, cell(t.state === 'COMPLETE' ? t.value : t.last_eval_loss), cell(t.steps), ...names.map((n) => cell(t.params[n]))]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((v, c) => v.padEnd(widths[c])).join('  ');
  return [line(header), ...rows.map(line)];
}

export function importanceLines(r: SearchResults): string[] {
  if (!r.importances) return [`parameter importance: not available (${r.importance_error ?? 'unknown'})`];
  return ['parameter importance (fANOVA over completed trials):', ...Object.entries(r.importances).map(([k, v]) => `  ${k.padEnd(20)} ${v.toFixed(3)} ${'#'.repeat(Math.round(v * 40))}`)];
}

export function resultsMarkdown(r: SearchResults, budget: unknown): string {
  const counts = Object.entries(r.trials.reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.state]: (acc[t.state] ?? 0) + 1 }), {}))
    .map(([s, n]) => `${n} ${s.toLowerCase()}`)
    .join(', ');
  return [
    `# Hyper-parameter search ${r.study}`,
    '',
    `Objective: ${r.objective} (lower is better), on ${r.train_samples} training samples per trial. Trials: ${counts}.`,
    r.best ? `Best: trial ${r.best.number}, ${r.best.value}, ${JSON.stringify(r.best.params)}` : 'No completed trial.',
    '',
    '```',
    ...resultsTable(r),
    '```',
    '',
    ...importanceLines(r),
    '',
    'Budget checked before the start:',
    '```json',
    JSON.stringify(budget, null, 2),
    '```',
    '',
  ].join('\n');
}

export interface AppliedSearch {
  study: string;
  applied_at: string;
  value: number;
  params: Record<string, unknown>;
  overrides: Record<string, unknown>;
}

/** Where `--apply` leaves the best configuration for the next `kb finetune train` (and the semiannual job). */
export function appliedSearchFile(config: Config): string {
  return path.resolve(config.data_dir, config.finetune_runs.runs_dir, 'next-run.json');
}

export function applySearch(config: Config, r: SearchResults, now = new Date()): AppliedSearch {
  if (!r.best || r.best.value == null || !r.apply_overrides) throw new Error(`search ${r.study} has no completed trial to apply`);
  const applied: AppliedSearch = { study: r.study, applied_at: now.toISOString(), value: r.best.value, params: r.best.params, overrides: r.apply_overrides };
  const file = appliedSearchFile(config);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(applied, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
  return applied;
}

export function readAppliedSearch(config: Config): AppliedSearch | null {
  const file = appliedSearchFile(config);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as AppliedSearch;
  } catch (e) {
    throw new Error(`${file}: unreadable (${(e as Error).message}); delete it or run \`kb finetune search --apply\` again`);
  }
}

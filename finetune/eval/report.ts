import fs from 'node:fs';
import path from 'node:path';
import type { EvalReport, SettingName, SettingResult } from './report-types.ts';

// Aggregates per-sample results into the four (or six) settings and renders the report.

export interface SampleResult {
  id: string;
  setting: SettingName;
  refusalSample: boolean;
  /** The sample used a held-out phrasing. */
  heldout?: boolean;
  prediction: string;
  /** doc_id of each citation the answer carries (as the chat response's `citations`). */
  citations?: number[];
  error: string | null;
  em: number;
  f1: number;
  rougeL: number;
  refused: boolean;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x: number | null) => (x == null ? null : Math.round(x * 10_000) / 10_000);

export function aggregate(setting: SettingName, model: string, retrieval: boolean, results: SampleResult[]): SettingResult {
  const ok = results.filter((r) => r.error == null);
  const answerable = ok.filter((r) => !r.refusalSample);
  const noRecord = ok.filter((r) => r.refusalSample);
  const credit = [...answerable.map((r) => r.f1), ...noRecord.map((r) => (r.refused ? 1 : 0))];
  return {
    setting,
    model,
    retrieval,
    status: 'ok',
    n: results.length,
    scored: ok.length,
    errors: results.length - ok.length,
    em: round(mean(answerable.map((r) => r.em))),
    f1: round(mean(answerable.map((r) => r.f1))),
    rouge_l: round(mean(answerable.map((r) => r.rougeL))),
    refusal_accuracy: round(mean(noRecord.map((r) => (r.refused ? 1 : 0)))),
    false_refusal_rate: round(mean(answerable.map((r) => (r.refused ? 1 : 0)))),
    score: round(mean(credit)),
    heldout_em: round(mean(answerable.filter((r) => r.heldout).map((r) => r.em))),
    heldout_f1: round(mean(answerable.filter((r) => r.heldout).map((r) => r.f1))),
  };
}

export function skipped(setting: SettingName, model: string, retrieval: boolean, reason: string): SettingResult {
  return { setting, model, retrieval, status: 'skipped', skipped_reason: reason, n: 0, scored: 0, errors: 0, em: null, f1: null, rouge_l: null, refusal_accuracy: null, false_refusal_rate: null, score: null, heldout_em: null, heldout_f1: null };
}

const pct = (x: number | null) => (x == null ? '–' : (x * 100).toFixed(1));

export function renderMarkdown(r: EvalReport): string {
  const rows = r.settings.map((s) =>
    s.status === 'skipped'
      ? `| ${s.setting} | ${s.model} | skipped: ${s.skipped_reason} | | | | | | | |`
      : `| ${s.setting} | ${s.model} | ${pct(s.score)} | ${pct(s.em)} | ${pct(s.f1)} | ${pct(s.rouge_l)} | ${pct(s.refusal_accuracy)} | ${pct(s.false_refusal_rate)} | ${s.scored}/${s.n} | ${s.errors} |`,
  );
  return [
    `# Fine-tune eval: ${r.run}`,
    '',
    `Adapter \`${r.adapter}\` on base \`${r.base_model}\`${r.incumbent ? `, compared with the active adapter \`${r.incumbent}\`` : ''}.`,
    `Test set: ${r.samples} samples (${r.answerable} answerable, ${r.refusal_samples} no-record) from \`${r.test_file}\`. ${r.created_at}`,
    '',
    '| setting | model | score | EM | F1 | ROUGE-L | refusal acc. | false refusals | scored | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'All figures are percentages. EM / F1 / ROUGE-L: answerable samples (normalised; Chinese scored per character).',
    'Refusal acc.: no-record samples answered with a refusal. False refusals: answerable samples refused.',
    `Score: mean per-sample credit (F1, or 1 for a correct refusal) — the promotion gate compares \`${r.primary}\`.`,
    ...(r.settings.some((s) => s.heldout_f1 != null)
      ? ['', 'Held-out phrasings (answerable samples asked with wording never trained on — what augmentation should raise):', '', ...r.settings.filter((s) => s.heldout_f1 != null).map((s) => `- ${s.setting}: EM ${pct(s.heldout_em ?? null)}, F1 ${pct(s.heldout_f1 ?? null)}`)]
      : []),
    ...(r.notes.length ? ['', '## Notes', '', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

export function writeReport(dir: string, report: EvalReport, results: SampleResult[]): { json: string; markdown: string; predictions: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  const markdown = path.join(dir, 'report.md');
  const predictions = path.join(dir, 'predictions.jsonl');
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(markdown, renderMarkdown(report));
  fs.writeFileSync(predictions, results.map((r) => JSON.stringify(r)).join('\n') + (results.length ? '\n' : ''));
  return { json, markdown, predictions };
}

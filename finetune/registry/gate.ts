import type { EvalReport, SettingName, SettingResult } from '../eval/report-types.ts';

// The promotion gate: a new adapter is deployed only when it beats what serves now. The fairest
// comparison is the incumbent adapter asked the same test questions in the same report; failing
// that, the incumbent's own stored report; with no incumbent, the base model in the same report.

export interface GateDecision {
  pass: boolean;
  reason: string;
  candidate: { setting: SettingName; score: number | null };
  baseline: { label: string; setting: SettingName | null; score: number | null; source: 'incumbent-same-questions' | 'incumbent-report' | 'base-model' | 'none' };
  min_improvement: number;
}

function setting(report: EvalReport, name: SettingName): SettingResult | null {
  const s = report.settings.find((x) => x.setting === name);
  return s && s.status === 'ok' && s.score != null ? s : null;
}

const fmt = (x: number) => x.toFixed(4);
/** More failed requests than this share make a report unfit for promotion decisions. */
const MAX_ERROR_SHARE = 0.05;

export function promotionGate(
  candidate: EvalReport | null,
  opts: { incumbentVersion: string | null; incumbentReport?: EvalReport | null; minImprovement?: number },
): GateDecision {
  const minImprovement = opts.minImprovement ?? 0;
  const none = { label: 'none', setting: null, score: null, source: 'none' as const };
  if (!candidate) {
    return { pass: false, reason: 'no eval report for this adapter: run `kb finetune eval --run RUN` first', candidate: { setting: 'adapter', score: null }, baseline: none, min_improvement: minImprovement };
  }
  const primary = candidate.primary;
  const cand = setting(candidate, primary);
  if (!cand) {
    return { pass: false, reason: `the eval report has no scored "${primary}" setting`, candidate: { setting: primary, score: null }, baseline: none, min_improvement: minImprovement };
  }
  if (cand.errors > MAX_ERROR_SHARE * cand.n) {
    return { pass: false, reason: `${cand.errors} of ${cand.n} "${primary}" requests failed: the scores are not reliable`, candidate: { setting: primary, score: cand.score }, baseline: none, min_improvement: minImprovement };
  }
  const rag = primary === 'adapter+rag';
  let baseline: GateDecision['baseline'] = none;
  const sameQuestions = opts.incumbentVersion && candidate.incumbent === opts.incumbentVersion ? setting(candidate, rag ? 'active+rag' : 'active') : null;
  if (sameQuestions) {
    baseline = { label: `active adapter ${opts.incumbentVersion}`, setting: sameQuestions.setting, score: sameQuestions.score, source: 'incumbent-same-questions' };
  } else if (opts.incumbentVersion) {
    const theirs = opts.incumbentReport ? setting(opts.incumbentReport, opts.incumbentReport.primary) : null;
    if (!theirs) {
      return {
        pass: false,
        reason: `cannot compare with the active adapter ${opts.incumbentVersion}: it was not evaluated on this test set and has no eval report of its own`,
        candidate: { setting: primary, score: cand.score },
        baseline: none,
        min_improvement: minImprovement,
      };
    }
    baseline = { label: `active adapter ${opts.incumbentVersion} (its own report, other test set)`, setting: theirs.setting, score: theirs.score, source: 'incumbent-report' };
  } else {
    const base = setting(candidate, rag ? 'base+rag' : 'base');
    if (!base) {
      return { pass: false, reason: 'no adapter is active and the base model was not scored in this report', candidate: { setting: primary, score: cand.score }, baseline: none, min_improvement: minImprovement };
    }
    baseline = { label: `base model ${base.model}`, setting: base.setting, score: base.score, source: 'base-model' };
  }
  const pass = cand.score! > baseline.score! + minImprovement;
  const reason = `${candidate.adapter} scores ${fmt(cand.score!)} on ${primary} vs ${fmt(baseline.score!)} for ${baseline.label}` + (minImprovement ? ` (needs > +${minImprovement})` : '') + (pass ? ': passes' : ': does not beat it');
  return { pass, reason, candidate: { setting: primary, score: cand.score }, baseline, min_improvement: minImprovement };
}

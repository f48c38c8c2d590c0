import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../src/store/index.ts';
import { buildRunConfig } from '../../finetune/train/run-config.ts';
import { createRun } from '../../finetune/runs/orchestrator.ts';
import { updateRun } from '../../finetune/runs/store.ts';
import { registerAdapter, setEvalReport } from '../../finetune/registry/index.ts';
import type { EvalReport, SettingName, SettingResult } from '../../finetune/eval/report-types.ts';

// Console fixtures: a finished fine-tuning run with a loss curve on disk, and two adapters whose
// eval reports make the promotion gate pass one and refuse the other.

function setting(name: SettingName, score: number): SettingResult {
  return { setting: name, model: name.startsWith('base') ? 'org/base' : 'adapter', retrieval: name.endsWith('+rag'), status: 'ok', n: 40, scored: 40, errors: 0, em: score * 0.6, f1: score, rouge_l: score * 0.9, refusal_accuracy: 0.8, false_refusal_rate: 0.05, score };
}

function report(adapter: string, scores: Partial<Record<SettingName, number>>): EvalReport {
  return {
    version: 1,
    run: adapter,
    adapter,
    base_model: 'org/base',
    incumbent: null,
    test_file: 'test.jsonl',
    samples: 40,
    answerable: 32,
    refusal_samples: 8,
    created_at: '2026-07-02T10:00:00Z',
    settings: (Object.entries(scores) as [SettingName, number][]).map(([k, v]) => setting(k, v)),
    primary: 'adapter+rag',
    notes: [],
  };
}

export interface FinetuneSeed {
  runName: string;
  /** Its eval beats the base model: the gate lets it through. */
  good: string;
  /** Its eval is worse than the base model: the gate refuses it. */
  bad: string;
  steps: number;
}

export function seedFinetune(db: DB, dir: string): FinetuneSeed {
  const runName = 'company-2026h1';
  const runsDir = path.join(dir, 'finetune', 'runs');
  const config = buildRunConfig({ runName, baseModel: 'org/base', datasetDir: path.join(dir, 'ft-data'), runDir: path.join(runsDir, runName) });
  const run = createRun(db, { runsDir, config });
  const steps = 60;
  const lines = [JSON.stringify({ event: 'start', total_steps: steps, resumed_from_step: 0 })];
  for (let s = 1; s <= steps; s++) {
    const loss = 2.4 * Math.exp(-s / 18) + 0.35 + 0.05 * Math.sin(s);
    lines.push(JSON.stringify({ event: 'log', step: s, total_steps: steps, epoch: s / 20, loss, eval_loss: null, lr: 2e-4 * (1 - s / steps), tokens_per_s: 1800, eta_s: steps - s }));
    if (s % 10 === 0) lines.push(JSON.stringify({ event: 'eval', step: s, eval_loss: loss + 0.12, best_eval_loss: null, patience_left: 3 }));
  }
  fs.mkdirSync(run.path, { recursive: true });
  fs.writeFileSync(path.join(run.path, 'events.jsonl'), `${lines.join('\n')}\n`);
  updateRun(db, run.id, { status: 'succeeded', finishedAt: new Date().toISOString(), metrics: { steps, train_loss: 0.41 } });

  const adapter = (version: string, runId: number | null, scores: Partial<Record<SettingName, number>>) => {
    const p = path.join(dir, 'adapters', version);
    fs.mkdirSync(p, { recursive: true });
    fs.writeFileSync(path.join(p, 'adapter_config.json'), JSON.stringify({ r: 16 }));
    fs.writeFileSync(path.join(p, 'adapter_model.safetensors'), '');
    registerAdapter(db, { version, runId, path: p, baseModel: 'org/base' });
    setEvalReport(db, version, report(version, scores));
  };
  adapter(runName, run.id, { base: 0.31, 'base+rag': 0.52, adapter: 0.44, 'adapter+rag': 0.68 });
  adapter('company-2025h2', null, { base: 0.31, 'base+rag': 0.52, adapter: 0.3, 'adapter+rag': 0.47 });
  return { runName, good: runName, bad: 'company-2025h2', steps };
}

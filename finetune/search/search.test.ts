import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { planRun } from '../runs/service.ts';
import { SETUP_COMMAND, venvPython } from '../train/venv.ts';
import { estimateSearch } from './budget.ts';
import { objectivePlotSvg } from './plot.ts';
import { applySearch, readAppliedSearch, resultsTable, sortTrials, type SearchResults } from './results.ts';
import { runSearch, searchDir, type SearchEvent, type SearchRequest } from './service.ts';
import { loadSpace, type SearchSpace } from './space.ts';

// The search driven end to end (finetune/train/search.py → Optuna) with a stand-in trainer whose
// validation loss has a planted optimum (fixtures/stand-in-search-trainer.mjs). Tests that need
// Optuna run only when the trainer environment exists.

const python = venvPython();
if (!python) console.warn(`search tests that need Optuna skipped: the trainer environment is not set up (run ${SETUP_COMMAND})`);
const standIn = [process.execPath, path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stand-in-search-trainer.mjs')];

const SPACE: SearchSpace = {
  params: {
    learning_rate: { type: 'float', low: 1e-5, high: 1e-1, log: true },
    lora_r: { type: 'categorical', choices: [4, 8, 16, 32, 64] },
    lr_scheduler: { type: 'categorical', choices: ['cosine', 'linear', 'constant'] },
  },
};
const FAST = { stepBudget: 4, evalsPerTrial: 2, trainSubset: 20, valSubset: 5, startupTrials: 5 };

let dir: string;
let db: DB;
let config: Config;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-search-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
  config = loadConfig({ env: { KB_DATA_DIR: dir } });
  const data = path.join(dir, config.finetune.dataset_dir);
  fs.mkdirSync(path.join(data, 'openai'), { recursive: true });
  for (const [split, n] of [['train', 40], ['val', 10], ['test', 2]] as const) {
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `${split} q${i}` }, { role: 'assistant', content: 'a' }] }));
    fs.writeFileSync(path.join(data, 'openai', `${split}.jsonl`), `${lines.join('\n')}\n`);
  }
  fs.writeFileSync(path.join(data, 'report.json'), JSON.stringify({ tokens: { train: { total: 400_000, max: 900, count: 1000 } } }));
});
afterAll(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const req = (name: string, extra: Partial<SearchRequest> = {}): SearchRequest => ({ name, gpu: 'rtx4090-24g', method: 'qlora-4bit', space: SPACE, ...extra });

describe('search budget, results and --apply (no Optuna needed)', () => {
  it("refuses to start over the planner's time or cost estimate, and without an estimate unless forced", async () => {
    await expect(runSearch(db, config, req('too-big', { limits: { maxHours: 0.01 } }))).rejects.toThrow(/search budget exceeded: [\d.]+ GPU-hours > --max-hours 0.01/);
    await expect(runSearch(db, config, req('no-gpu', { gpu: undefined }))).rejects.toThrow(/no planner estimate.*--force/);
    expect(fs.existsSync(searchDir(config, 'too-big'))).toBe(false);
    await expect(runSearch(db, config, req('../escape'))).rejects.toThrow(/letters, digits/);
  });

  it('estimates trials × steps × batch × tokens at the planner tokens/s, plus model loading', () => {
    const planner = { gpu: 'a100-80g', model: 'm', method: 'lora', fits: true, memory_gb: 30, tokens_per_s: 1000, throughput_source: 'measured', dataset_tokens: null, time_hours: null, cost: null, currency: 'USD' };
    const b = estimateSearch({ planner, pricePerHour: 2, trials: 10, stepBudget: 50, maxEffectiveBatch: 16, tokensPerSample: 300, valSamples: 0, evalsPerTrial: 4, loadSecondsPerTrial: 36 });
    expect(b.tokens).toBe(10 * 50 * 16 * 300);
    expect(b.hours).toBeCloseTo(2_400_000 / 1000 / 3600 + 0.1, 3);
    expect(b.cost).toBeCloseTo(b.hours * 2, 1);
  });

  it('sorts the table by objective (pruned and failed after) and --apply feeds the next run, below explicit overrides', () => {
    const row = (number: number, state: string, value: number | null, last: number | null) => ({ number, state, value, params: { learning_rate: number }, steps: 4, runtime_s: 1, last_eval_loss: last, error: null }) as SearchResults['trials'][0];
    const r: SearchResults = {
      study: 's', objective: 'best validation loss', train_samples: 20, importances: { learning_rate: 1 }, importance_error: null,
      trials: [row(0, 'COMPLETE', 2, 2), row(1, 'FAIL', null, null), row(2, 'PRUNED', null, 1.5), row(3, 'COMPLETE', 1, 1)],
      best: row(3, 'COMPLETE', 1, 1),
      apply_overrides: { 'training.learning_rate': 0.001, 'lora.r': 16, 'lora.alpha': 32 },
    };
    expect(sortTrials(r.trials).map((t) => t.number)).toEqual([3, 0, 2, 1]);
    expect(resultsTable(r)[1]).toMatch(/^1\s+3\s+COMPLETE\s+1\s/);
    expect(readAppliedSearch(config)).toBeNull();
    applySearch(config, r);
    const planned = planRun(db, config, { name: 'next', overrides: { 'lora.r': 8 } });
    expect(planned.config.training.learning_rate).toBe(0.001);
    expect(planned.config.lora.r).toBe(8); // the explicit override wins
    expect(planned.config.metadata.search).toMatchObject({ study: 's', value: 1 });
    expect(planned.notes.join('\n')).toMatch(/hyper-parameters from search s/);
    expect(planRun(db, config, { name: 'base', ignoreAppliedSearch: true }).config.training.learning_rate).toBe(2e-4);
    expect(() => applySearch(config, { ...r, best: null })).toThrow(/no completed trial/);
    fs.rmSync(path.dirname(path.join(dir, config.finetune_runs.runs_dir, 'next-run.json')), { recursive: true, force: true });
  });

  it('plots complete and pruned trials and the best-so-far line as SVG', () => {
    const svg = objectivePlotSvg([
      { number: 0, state: 'COMPLETE', value: 2, last_eval_loss: 2 },
      { number: 1, state: 'PRUNED', value: null, last_eval_loss: 3 },
      { number: 2, state: 'COMPLETE', value: 1, last_eval_loss: 1 },
    ], 't <1>');
    expect(svg).toMatch(/^<svg/);
    expect(svg.match(/<circle/g)).toHaveLength(3);
    expect(svg).toContain('fill="none" stroke="#c63"'); // the pruned one is open
    expect(svg).toContain('<path d="M');
    expect(svg).toContain('t &lt;1>');
    expect(objectivePlotSvg([], 'x')).toContain('no finished trial yet');
  });

  it('rejects a bad space file naming the key', () => {
    const f = path.join(dir, 'space.yaml');
    fs.writeFileSync(f, 'params:\n  learning_rate: {type: float, low: 0, high: 1, log: true}\n  lora_rank: {type: categorical, choices: [8]}\n');
    expect(() => loadSpace(f)).toThrow(/params\.learning_rate: log scale needs low > 0/);
    expect(() => loadSpace(f)).toThrow(/Unrecognized key: "lora_rank"/);
  });
});

describe.skipIf(!python)('search with Optuna and the stand-in trainer', () => {
  let tpe: Awaited<ReturnType<typeof runSearch>>;
  beforeAll(async () => {
    tpe = await runSearch(db, config, req('tpe', { options: { ...FAST, sampler: 'tpe', trials: 20 } }), { trainerCmd: standIn });
  }, 400_000);

  it('TPE finds the planted optimum region (learning rate ≈ 1e-3, rank 16, not constant)', () => {
    expect(tpe.status, tpe.error ?? '').toBe('completed');
    const r = tpe.results!;
    expect(r.trials.filter((t) => t.state === 'COMPLETE' || t.state === 'PRUNED')).toHaveLength(20);
    const best = r.best!;
    expect(best.params.learning_rate as number).toBeGreaterThan(3e-4);
    expect(best.params.learning_rate as number).toBeLessThan(3e-3);
    expect(best.params.lora_r).toBe(16);
    expect(best.params.lr_scheduler).not.toBe('constant');
    // The model-guided trials beat the random start-up ones.
    const startup = Math.min(...r.trials.filter((t) => t.number < 5 && t.value != null).map((t) => t.value!));
    expect(best.value!).toBeLessThan(startup);
    expect(Object.keys(r.importances!)[0]).toBe('learning_rate');
    expect(r.apply_overrides).toMatchObject({ 'training.learning_rate': best.params.learning_rate, 'lora.r': 16 });
    for (const f of Object.values(tpe.files)) expect(fs.existsSync(f), f).toBe(true);
    expect(tpe.budget!.hours).toBeGreaterThan(0);
  });

  it('median pruning stops bad trials at their first evaluation', () => {
    const pruned = tpe.results!.trials.filter((t) => t.state === 'PRUNED');
    expect(pruned.length).toBeGreaterThan(0);
    for (const t of pruned) expect(t.steps).toBeLessThan(4);
    // Each trial ran the trainer with its own run.json, capped at the step budget.
    const trialCfg = JSON.parse(fs.readFileSync(path.join(tpe.dir, 'trials', '0000', 'run.json'), 'utf8'));
    expect(trialCfg.training.max_steps).toBe(4);
    expect(trialCfg.data.train).toBe(path.join(tpe.dir, 'data', 'train.jsonl'));
    expect(fs.readFileSync(trialCfg.data.train, 'utf8').trim().split('\n')).toHaveLength(20);
  });

  it('resumes the study: finished trials are kept, a trial killed mid-run is failed, --trials is the total', async () => {
    const opts = { ...FAST, sampler: 'random' as const, pruner: 'none' as const };
    const first = await runSearch(db, config, req('resume', { options: { ...opts, trials: 3 } }), { trainerCmd: standIn });
    expect(first.results!.trials).toHaveLength(3);
    // Interrupt the next invocation while its first trial runs (slow stand-in).
    const ac = new AbortController();
    const events: SearchEvent[] = [];
    const stopped = await runSearch(db, config, req('resume', { options: { ...opts, trials: 6 } }), {
      trainerCmd: standIn,
      env: { STAND_IN_SLOW_MS: '300' },
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.event === 'trial_start') ac.abort();
      },
    });
    expect(stopped.status).toBe('interrupted');
    expect(events.find((e) => e.event === 'search_start')).toMatchObject({ finished: 3, to_run: 3 });
    const resumed = await runSearch(db, config, req('resume', { options: { ...opts, trials: 6 } }), { trainerCmd: standIn });
    expect(resumed.status).toBe('completed');
    const trials = resumed.results!.trials;
    expect(trials.filter((t) => t.state === 'COMPLETE')).toHaveLength(6);
    expect(trials.find((t) => t.number === 3)!.state).toBe('FAIL');
    // The first three trials are the same records, not re-run.
    expect(trials.slice(0, 3).map((t) => t.params)).toEqual(first.results!.trials.map((t) => t.params));
    // A resumed random sampler does not replay the first trials' parameters.
    expect(trials.slice(4).map((t) => t.params.learning_rate)).not.toContain(trials[0].params.learning_rate);
    await expect(runSearch(db, config, req('resume', { space: { params: { learning_rate: SPACE.params.learning_rate! } }, options: opts }), { trainerCmd: standIn })).rejects.toThrow(/another search space/);
  }, 300_000);

  it('reports a failing trainer as failed trials, and an invalid space before importing Optuna', async () => {
    const broken = path.join(dir, 'broken-trainer.mjs');
    fs.writeFileSync(broken, "process.stdout.write(JSON.stringify({ event: 'error', kind: 'OutOfMemoryError', message: 'CUDA out of memory' }) + '\\n'); process.exit(1);\n");
    const failing = await runSearch(db, config, req('failing', { options: { ...FAST, trials: 2 } }), { trainerCmd: [process.execPath, broken] });
    expect(failing.status).toBe('failed');
    expect(failing.results!.trials.map((t) => t.state)).toEqual(['FAIL', 'FAIL']);
    expect(failing.results!.trials[0].error).toBe('OutOfMemoryError: CUDA out of memory');
    expect(failing.results!.best).toBeNull();
    // search.py checks the space before it imports Optuna (the TS side validates it first too).
    const bad = await runSearch(db, config, req('bad-space', { space: { params: { lr_scheduler: { type: 'categorical', choices: ['cosine', 'step'] } } } }), { trainerCmd: standIn });
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatch(/invalid_input: space\.params\.lr_scheduler: categorical over cosine/);
  }, 120_000);
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Config } from '../../src/config/index.ts';
import type { DB } from '../../src/store/index.ts';
import { trainSplitTokens } from '../plan/dataset-size.ts';
import { launcherFor, planRun, runsDir, type TrainRequest } from '../runs/service.ts';
import { writeRunConfig } from '../train/run-config.ts';
import { estimateSearch, overBudget, type SearchBudget } from './budget.ts';
import { objectivePlotSvg } from './plot.ts';
import { resultsMarkdown, type SearchResults } from './results.ts';
import { DEFAULT_SPACE, SEARCH_SCRIPT, maxEffectiveBatch, type SearchSpace } from './space.ts';

// `kb finetune search`: the base run config from the planner, the budget check, the study
// folder, and finetune/train/search.py (the Optuna study around the real train_lora.py) as a
// child process whose JSON lines are followed. Study folder: <runs_dir>/searches/<name>/ with
// base.json, space.json, study.db (the resumable Optuna storage), data/ (the subsets), trials/
// (each trial's run.json and trainer.log), results.json, report.md and objective.svg.

export interface SearchOptions {
  sampler: 'tpe' | 'random' | 'grid';
  trials: number;
  stepBudget: number;
  trainSubset: number;
  valSubset: number;
  pruner: 'median' | 'none';
  startupTrials: number;
  warmupSteps: number;
  evalsPerTrial: number;
  gridPoints: number;
  seed: number;
}

export const DEFAULT_SEARCH: SearchOptions = {
  sampler: 'tpe',
  trials: 20,
  stepBudget: 60,
  trainSubset: 512,
  valSubset: 64,
  pruner: 'median',
  startupTrials: 5,
  warmupSteps: 0,
  evalsPerTrial: 4,
  gridPoints: 3,
  seed: 42,
};

export interface SearchRequest extends Omit<TrainRequest, 'name' | 'trigger' | 'ignoreAppliedSearch'> {
  /** Study name; the same name continues the study. */
  name: string;
  space?: SearchSpace;
  options?: Partial<SearchOptions>;
  limits?: { maxHours?: number; maxCost?: number };
  /** Start even without a planner estimate or over the limits. */
  force?: boolean;
  loadSecondsPerTrial?: number;
}

export interface SearchEvent {
  event: string;
  [key: string]: unknown;
}

export interface SearchHooks {
  onEvent?(ev: SearchEvent): void;
  onText?(line: string): void;
  signal?: AbortSignal;
  /** Replaces the python + search.py launch (tests); trainerCmd replaces train_lora.py. */
  python?: string;
  trainerCmd?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface SearchOutcome {
  status: 'completed' | 'interrupted' | 'failed';
  dir: string;
  budget: SearchBudget | null;
  notes: string[];
  results: SearchResults | null;
  error: string | null;
  files: { results: string; report: string; plot: string };
}

export function searchDir(config: Config, name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`search name "${name}": letters, digits, _ . - only`);
  return path.join(runsDir(config), 'searches', name);
}

/** The budget estimate, or throws when it is over the limits (or impossible) and force is not set. */
export function checkBudget(config: Config, req: SearchRequest, opts: SearchOptions, base: ReturnType<typeof planRun>): { budget: SearchBudget | null; notes: string[] } {
  const notes: string[] = [];
  if (!base.estimate) {
    const why = 'no planner estimate (give --gpu or set finetune_runs.gpu) so the search budget cannot be checked';
    if (!req.force) throw new Error(`${why}; --force starts it unchecked`);
    notes.push(`${why}; started with --force`);
    return { budget: null, notes };
  }
  const datasetDir = path.resolve(config.data_dir, req.datasetDir ?? config.finetune.dataset_dir);
  const split = trainSplitTokens(datasetDir);
  let tokensPerSample = split?.total && split.count ? split.total / split.count : null;
  if (tokensPerSample == null) {
    tokensPerSample = base.config.data.max_seq_len;
    notes.push(`no dataset report in ${datasetDir}: budget assumes every sample fills max_seq_len (${tokensPerSample} tokens)`);
  }
  const t = base.config.training;
  const budget = estimateSearch({
    planner: base.estimate,
    pricePerHour: config.finetune.planner.gpu_prices_per_hour[base.estimate.gpu] ?? null,
    trials: opts.trials,
    stepBudget: opts.stepBudget,
    maxEffectiveBatch: maxEffectiveBatch(req.space ?? DEFAULT_SPACE, t.per_device_batch_size, t.gradient_accumulation_steps),
    tokensPerSample,
    valSamples: opts.valSubset,
    evalsPerTrial: opts.evalsPerTrial,
    loadSecondsPerTrial: req.loadSecondsPerTrial ?? 60,
  });
  const over = overBudget(budget, req.limits ?? {});
  if (over && !req.force) throw new Error(`search budget exceeded: ${over} (${budget.assumptions.join('; ')}). Lower --trials/--step-budget, raise the limit, or --force`);
  if (over) notes.push(`over budget (${over}); started with --force`);
  return { budget, notes };
}

function sameSpace(dir: string, space: SearchSpace): void {
  const file = path.join(dir, 'space.json');
  if (!fs.existsSync(file)) return;
  if (fs.readFileSync(file, 'utf8').trim() !== JSON.stringify(space, null, 2)) {
    throw new Error(`study ${path.basename(dir)} was created with another search space (${file}); pick a new --name to search a different space`);
  }
}

export async function runSearch(db: DB, config: Config, req: SearchRequest, hooks: SearchHooks = {}): Promise<SearchOutcome> {
  const opts: SearchOptions = { ...DEFAULT_SEARCH, ...req.options };
  const space = req.space ?? DEFAULT_SPACE;
  const dir = searchDir(config, req.name);
  // The base config: the planner's recommendation for the GPU; a previous --apply is not stacked on it.
  const base = planRun(db, config, { ...req, name: req.name, trigger: 'search', ignoreAppliedSearch: true });
  const { budget, notes } = checkBudget(config, req, opts, base);
  notes.unshift(...base.notes);
  sameSpace(dir, space);
  fs.mkdirSync(dir, { recursive: true });
  writeRunConfig(path.join(dir, 'base.json'), base.config);
  fs.writeFileSync(path.join(dir, 'space.json'), `${JSON.stringify(space, null, 2)}\n`);

  const files = { results: path.join(dir, 'results.json'), report: path.join(dir, 'report.md'), plot: path.join(dir, 'objective.svg') };
  const python = hooks.python ?? launcherFor(config).python;
  const argv = [
    SEARCH_SCRIPT,
    '--config', path.join(dir, 'base.json'),
    '--space', path.join(dir, 'space.json'),
    '--study-dir', dir,
    '--study-name', req.name,
    '--sampler', opts.sampler,
    '--trials', String(opts.trials),
    '--step-budget', String(opts.stepBudget),
    '--train-subset', String(opts.trainSubset),
    '--val-subset', String(opts.valSubset),
    '--pruner', opts.pruner,
    '--startup-trials', String(opts.startupTrials),
    '--warmup-steps', String(opts.warmupSteps),
    '--evals-per-trial', String(opts.evalsPerTrial),
    '--grid-points', String(opts.gridPoints),
    '--seed', String(opts.seed),
    ...(hooks.trainerCmd ? ['--trainer-cmd', JSON.stringify(hooks.trainerCmd)] : []),
  ];
  const log = fs.createWriteStream(path.join(dir, 'search.log'), { flags: 'a' });
  const child = spawn(python, argv, { cwd: dir, env: { ...process.env, PYTHONUNBUFFERED: '1', ...hooks.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const onAbort = () => child.kill('SIGTERM');
  if (hooks.signal?.aborted) onAbort();
  hooks.signal?.addEventListener('abort', onAbort, { once: true });

  let results: SearchResults | null = null;
  let error: string | null = null;
  const stderrTail: string[] = [];
  const stdoutDone = new Promise<void>((resolve) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      let ev: SearchEvent | null = null;
      if (line.trimStart().startsWith('{')) {
        try {
          ev = JSON.parse(line) as SearchEvent;
        } catch {
          ev = null;
        }
      }
      if (!ev || typeof ev.event !== 'string') return hooks.onText?.(line);
      if (ev.event === 'search_summary') {
        const { event: _e, ...rest } = ev;
        results = rest as unknown as SearchResults;
      }
      if (ev.event === 'error') error = `${String(ev.kind)}: ${String(ev.message)}`;
      hooks.onEvent?.(ev);
    }).on('close', resolve);
  });
  const stderrDone = new Promise<void>((resolve) => {
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      log.write(`[stderr] ${line}\n`);
      stderrTail.push(line);
      if (stderrTail.length > 30) stderrTail.shift();
      hooks.onText?.(line);
    }).on('close', resolve);
  });
  const exit = await new Promise<{ code: number | null; spawnError?: Error }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, spawnError: e }));
    child.once('close', (code) => resolve({ code }));
  });
  await Promise.all([stdoutDone, stderrDone]);
  hooks.signal?.removeEventListener('abort', onAbort);
  await new Promise((r) => log.end(r));

  const final = results as SearchResults | null;
  if (final) {
    fs.writeFileSync(files.plot, objectivePlotSvg(final.trials, `${req.name}: validation loss per trial (${opts.sampler}, ${opts.pruner} pruning)`));
    fs.writeFileSync(files.report, resultsMarkdown(final, budget));
  }
  if (exit.spawnError) error = `could not start ${python}: ${exit.spawnError.message}`;
  else if (!error && exit.code !== 0 && exit.code !== 130) error = `search exited with code ${exit.code}${stderrTail.length ? `:\n${stderrTail.join('\n')}` : ''}`;
  const status = exit.code === 130 || final?.interrupted ? 'interrupted' : exit.code === 0 && final ? 'completed' : 'failed';
  return { status, dir, budget, notes, results: final, error, files };
}

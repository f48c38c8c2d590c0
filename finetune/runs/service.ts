import path from 'node:path';
import type { Config } from '../../src/config/index.ts';
import type { DB } from '../../src/store/index.ts';
import { findSplitFile } from '../eval/dataset.ts';
import { findGpu, findModel, plan, type Method } from '../plan/index.ts';
import { adapterForRun, registerAdapter, versionFor, type AdapterRecord } from '../registry/index.ts';
import { buildRunConfig, type RunConfig, type TrainingRecommendation } from '../train/run-config.ts';
import { createRun, launchTrainer, resumeRun, type RunHooks, type TrainerLauncher } from './orchestrator.ts';
import { getRun, type RunRecord } from './store.ts';
import { readThroughputFile, recordThroughput, type ThroughputRecord } from '../plan/throughput.ts';
import { trainSplitTokens } from '../plan/dataset-size.ts';
import type { PlannerEstimate } from './repro.ts';
import { readAppliedSearch } from '../search/results.ts';
import { resolveTrainerPython } from '../train/venv.ts';

// `kb finetune train` / `resume` as functions (the CLI and the semiannual job share them):
// config from the planner's recommendation + overrides, the run folder, the trainer, and the
// adapter's registration once training succeeded.

export interface TrainRequest {
  /** Run name = adapter version; default <version_prefix>-<year>h<half> (suffixed -2, -3 … when taken). */
  name?: string;
  /** Output folder of `kb finetune prepare`; default <data_dir>/<finetune.dataset_dir>. */
  datasetDir?: string;
  /** Local folder or hub id of the base weights. */
  baseModel?: string;
  gpu?: string;
  method?: Method;
  /** Dotted run-config overrides, e.g. { 'training.max_steps': 200 }. */
  overrides?: Record<string, unknown>;
  trigger?: string;
  now?: Date;
  /** Do not apply `kb finetune search --apply`'s configuration (the search's own base config). */
  ignoreAppliedSearch?: boolean;
}

export interface PlannedRun {
  config: RunConfig;
  notes: string[];
  /** The planner's memory/throughput/time/cost estimate (null without a GPU); kept in the run's repro record. */
  estimate: PlannerEstimate | null;
}

/** Measured throughputs (`recordRunThroughput`), read back by the planner. */
export function throughputFile(config: Config): string {
  return path.join(config.data_dir, 'finetune', 'throughput.json');
}

export function runsDir(config: Config): string {
  return path.resolve(config.data_dir, config.finetune_runs.runs_dir);
}

export function launcherFor(config: Config): TrainerLauncher {
  return { python: resolveTrainerPython(config.finetune_runs.python) };
}

/** The first free run name for the half-year. */
export function nextRunName(db: DB, prefix: string, now: Date): string {
  const base = versionFor(now, prefix);
  if (!getRun(db, base)) return base;
  for (let i = 2; ; i++) if (!getRun(db, `${base}-${i}`)) return `${base}-${i}`;
}

/** The base weights to train: explicit > finetune_runs.base_model_path > the planner preset's hub id. */
export function baseModelFor(config: Config, explicit?: string): string {
  if (explicit) return explicit;
  if (config.finetune_runs.base_model_path) return config.finetune_runs.base_model_path;
  try {
    return findModel(config.finetune.base_model).hf_id;
  } catch {
    return config.finetune.base_model;
  }
}

/** Builds (does not write) the run config: defaults < planner recommendation < overrides. */
export function planRun(db: DB, config: Config, req: TrainRequest): PlannedRun {
  const notes: string[] = [];
  const datasetDir = path.resolve(config.data_dir, req.datasetDir ?? config.finetune.dataset_dir);
  const method = req.method ?? config.finetune_runs.method;
  const gpu = req.gpu ?? config.finetune_runs.gpu;
  let recommendation: TrainingRecommendation = { method };
  let planner: Record<string, unknown> | null = null;
  let estimate: PlannerEstimate | null = null;
  if (gpu) {
    try {
      findGpu(gpu);
      const tokens = trainSplitTokens(datasetDir);
      const p = plan({
        model: config.finetune.base_model,
        method,
        gpu,
        datasetTokens: tokens?.total ?? null,
        epochs: config.finetune.planner.epochs,
        utilization: config.finetune.planner.utilization,
        prices: config.finetune.planner.gpu_prices_per_hour,
        currency: config.finetune.planner.currency,
        measured: readThroughputFile(throughputFile(config)),
      });
      recommendation = { ...p.recommended, method };
      planner = { gpu, model: config.finetune.base_model, method, fits: p.fits, memory_gb: p.memory_gb.total, gpu_memory_gb: p.memory_gb.gpu };
      estimate = {
        gpu,
        model: p.model.id,
        method,
        fits: p.fits,
        memory_gb: p.memory_gb.total,
        tokens_per_s: p.throughput.tokens_per_second,
        throughput_source: p.throughput.source,
        dataset_tokens: p.dataset_tokens,
        time_hours: p.time_hours,
        cost: p.cost.total,
        currency: p.cost.currency,
      };
      if (!p.fits) notes.push(`planner: ${p.notes.find((n) => n.startsWith('does not fit')) ?? 'does not fit'} — consider --method qlora-4bit`);
    } catch (err) {
      notes.push(`planner unavailable (${(err as Error).message}); using built-in defaults`);
    }
  } else {
    notes.push('no GPU given (--gpu or finetune_runs.gpu): using built-in defaults instead of the planner');
  }
  // `kb finetune search --apply` left the best configuration for the next run: it goes on top of
  // the planner's recommendation, below explicit overrides.
  const applied = req.ignoreAppliedSearch ? null : readAppliedSearch(config);
  if (applied) notes.push(`hyper-parameters from search ${applied.study} (validation loss ${applied.value}): ${Object.keys(applied.overrides).join(', ')}`);
  const name = req.name ?? nextRunName(db, config.finetune_runs.version_prefix, req.now ?? new Date());
  const runConfig = buildRunConfig({
    runName: name,
    baseModel: baseModelFor(config, req.baseModel),
    datasetDir,
    trainFile: findSplitFile(datasetDir, 'train', 'chat'),
    valFile: findSplitFile(datasetDir, 'val', 'chat'),
    runDir: path.join(runsDir(config), name),
    recommendation,
    overrides: { ...(applied?.overrides ?? {}), ...(req.overrides ?? {}) },
    metadata: {
      trigger: req.trigger ?? 'cli',
      planner,
      assistant: config.finetune_runs.assistant,
      ...(applied ? { search: { study: applied.study, value: applied.value, params: applied.params } } : {}),
    },
  });
  return { config: runConfig, notes, estimate };
}

/**
 * A finished run's measured training throughput, saved where `kb finetune plan` reads it, so the
 * next plan for the same model, method and GPU uses a measurement instead of the FLOP estimate.
 * Returns the record, or null when the run lacks what is needed (no planner GPU, no timing).
 */
export function recordRunThroughput(config: Config, run: RunRecord): ThroughputRecord | null {
  if (run.status !== 'succeeded') return null;
  const planner = (run.config.metadata as { planner?: { gpu?: string; model?: string; method?: string } } | undefined)?.planner;
  const m = run.metrics ?? {};
  const tokens = Number(m.tokens_trained);
  const seconds = Number(m.runtime_s);
  if (!planner?.gpu || !planner.model || !planner.method || !(tokens > 0) || !(seconds > 0)) return null;
  const rec: ThroughputRecord = {
    model: planner.model,
    method: planner.method as ThroughputRecord['method'],
    gpu: planner.gpu,
    tokens_per_second: Math.round((tokens / seconds) * 10) / 10,
    measured_at: run.finishedAt ?? new Date().toISOString(),
    run: run.name,
  };
  recordThroughput(throughputFile(config), rec);
  return rec;
}

/** Registers the trained adapter (version = run name) once a run succeeded. */
export function registerRunAdapter(db: DB, run: RunRecord): AdapterRecord | null {
  if (run.status !== 'succeeded' || !run.adapterPath) return null;
  return adapterForRun(db, run.id) ?? registerAdapter(db, { version: run.name, runId: run.id, path: run.adapterPath, baseModel: run.config.base_model });
}

export interface TrainOutcome {
  run: RunRecord;
  adapter: AdapterRecord | null;
  notes: string[];
}

/** Hooks for one attempt; `launcher` replaces the configured python + train_lora.py (tests). */
export type AttemptOptions = RunHooks & { maxSteps?: number; launcher?: TrainerLauncher };

export async function trainNewRun(db: DB, config: Config, req: TrainRequest, hooks: AttemptOptions = {}): Promise<TrainOutcome> {
  const planned = planRun(db, config, req);
  const created = createRun(db, { runsDir: runsDir(config), config: planned.config, trigger: req.trigger, planner: planned.estimate });
  const run = await launchTrainer(db, created.id, hooks.launcher ?? launcherFor(config), hooks);
  recordRunThroughput(config, run);
  return { run, adapter: registerRunAdapter(db, run), notes: planned.notes };
}

export async function resumeTraining(db: DB, config: Config, ref: string, hooks: AttemptOptions = {}): Promise<TrainOutcome> {
  const run = await resumeRun(db, ref, hooks.launcher ?? launcherFor(config), hooks);
  recordRunThroughput(config, run);
  return { run, adapter: registerRunAdapter(db, run), notes: [] };
}

import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig, type Config } from '../../src/config/index.ts';
import type { Logger } from '../../src/log/index.ts';
import type { DB } from '../../src/store/index.ts';
import { openContext } from '../context.ts';
import { assistantTarget, evaluateForAssistant } from '../../finetune/eval/for-assistant.ts';
import { renderMarkdown } from '../../finetune/eval/report.ts';
import { deployAdapter, rollbackDeployment } from '../../finetune/registry/deploy.ts';
import { activeAdapter, deploymentHistory, listAdapters, versionFor } from '../../finetune/registry/index.ts';
import { createProgressRenderer } from '../../finetune/runs/progress.ts';
import { planRun, resumeTraining, trainNewRun, type TrainOutcome } from '../../finetune/runs/service.ts';
import { listRuns, reconcileStaleRuns, requireRun, type RunRecord } from '../../finetune/runs/store.ts';
import { diffLines, diffRuns, reproLines } from '../../finetune/runs/show.ts';
import { runSearch } from '../../finetune/search/service.ts';
import { appliedSearchFile, applySearch, importanceLines, resultsTable } from '../../finetune/search/results.ts';
import { loadSpace } from '../../finetune/search/space.ts';
import { exportRun, FORMATS, GGUF_TYPES } from '../../finetune/export/index.ts';
import { listExports, type ExportFormat } from '../../finetune/registry/exports.ts';
import { scheduleSemiannual } from '../../finetune/schedule/index.ts';
import { adapterOf, semiannualJob } from '../../finetune/schedule/job.ts';
import { parseOverrides } from '../../finetune/train/run-config.ts';
import type { Method } from '../../finetune/plan/index.ts';

// `kb finetune train|resume|runs|show|eval|deploy|rollback|adapters|schedule`: LoRA runs,
// evaluation, the adapter registry and the semiannual job. `prepare` and `plan` live in
// finetune.ts; both files share the one `finetune` command group.

const EXIT_INTERRUPTED = 130;
const EXIT_GATE_REFUSED = 3;
const EXIT_NEEDS_MANUAL_LOAD = 4;

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}
const collect = (v: string, prev: string[]) => [...prev, v];
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);
const json = (v: unknown): void => out(JSON.stringify(v));

function runSummary(r: RunRecord) {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    path: r.path,
    adapter_path: r.adapterPath,
    merged_path: r.mergedPath,
    dataset_hash: r.datasetHash,
    attempts: r.attempts,
    progress: r.progress,
    metrics: r.metrics,
    error_tail: r.errorTail,
    trigger: r.trigger,
    config: r.config,
    repro: r.repro,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    finished_at: r.finishedAt,
  };
}

/** Runs a training attempt with a progress display and Ctrl-C → checkpoint-and-stop. */
async function withProgress(verbose: boolean, fn: (hooks: Parameters<typeof trainNewRun>[3]) => Promise<TrainOutcome>): Promise<TrainOutcome> {
  const renderer = createProgressRenderer(process.stderr, { verbose });
  const ac = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    if (signals === 1) {
      renderer.finish();
      err('stopping: the trainer saves a checkpoint after the current step (Ctrl-C again to stop waiting)');
      ac.abort();
    } else {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn({ onEvent: (e) => renderer.onEvent(e), onText: (l, s) => renderer.onText(l, s), signal: ac.signal });
  } finally {
    renderer.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function reportOutcome(o: TrainOutcome, jsonOut: boolean): void {
  if (jsonOut) json({ ...runSummary(o.run), adapter: o.adapter?.version ?? null, notes: o.notes });
  else {
    out(`run ${o.run.name}: ${o.run.status} (folder ${o.run.path})`);
    if (o.adapter) out(`adapter ${o.adapter.version} registered: ${o.adapter.path}\nnext: kb finetune eval --run ${o.run.name}`);
  }
  if (o.run.status === 'failed') {
    err(`training failed; trainer output (also in ${path.join(o.run.path, 'trainer.log')}):\n${o.run.errorTail ?? ''}`);
    process.exitCode = 1;
  } else if (o.run.status === 'interrupted') {
    err(`${o.run.errorTail?.split('\n')[0] ?? 'interrupted'}\ncontinue with: kb finetune resume ${o.run.name}`);
    process.exitCode = EXIT_INTERRUPTED;
  }
}

interface EvalCliOptions {
  run: string;
  assistant?: string;
  maxSamples?: number;
  retrieval: boolean;
  test?: string;
  json?: boolean;
}

function runEvalCommand(config: Config, db: DB, log: Logger, opts: EvalCliOptions) {
  let lastPct = -1;
  return evaluateForAssistant(config, db, log, {
    ...opts,
    onProgress: (done, total) => {
      const pct = Math.floor((done / total) * 10);
      if (pct !== lastPct) {
        lastPct = pct;
        err(`eval: ${done}/${total} requests`);
      }
    },
  });
}

/** Adds the run/eval/registry/schedule subcommands to the `kb finetune` group. */
export function registerFinetuneRunCommands(ft: Command): void {
  ft.command('train')
    .description('create a run (planner recommendations + overrides), launch train_lora.py, follow it, register the adapter')
    .option('--name <name>', 'run name = adapter version (default <version_prefix>-<year>h<half>, e.g. company-2026h1)')
    .option('--data <dir>', 'output folder of `kb finetune prepare` (default <data_dir>/<finetune.dataset_dir>)')
    .option('--base-model <path|id>', 'base weights: local folder or hub id (default finetune_runs.base_model_path or the planner preset)')
    .option('--gpu <id>', 'planner GPU id whose recommendations seed the config (default finetune_runs.gpu)')
    .addOption(new Option('--method <method>', 'lora | qlora-8bit | qlora-4bit (default finetune_runs.method)').choices(['lora', 'qlora-8bit', 'qlora-4bit']))
    .option('--max-steps <n>', 'stop after N optimizer steps (sets training.max_steps)', positiveInt)
    .option('--set <key=value>', 'override a run-config key, repeatable (e.g. --set lora.r=32 --set training.learning_rate=1e-4)', collect, [])
    .option('--print-config', 'print the run config that would be used and exit (nothing is created)')
    .option('--verbose', "show the trainer's own log lines")
    .option('--json', 'print the final run record as one JSON object')
    .action(async (o: { name?: string; data?: string; baseModel?: string; gpu?: string; method?: Method; maxSteps?: number; set: string[]; printConfig?: boolean; verbose?: boolean; json?: boolean }) => {
      const ctx = openContext();
      try {
        const overrides = parseOverrides(o.set);
        if (o.maxSteps != null) overrides['training.max_steps'] = o.maxSteps;
        const req = { name: o.name, datasetDir: o.data, baseModel: o.baseModel, gpu: o.gpu, method: o.method, overrides };
        if (o.printConfig) {
          const planned = planRun(ctx.db, ctx.config, req);
          planned.notes.forEach((n) => err(`note: ${n}`));
          out(JSON.stringify(planned.config, null, 2));
          return;
        }
        const outcome = await withProgress(!!o.verbose, async (hooks) => {
          const planned = planRun(ctx.db, ctx.config, req);
          planned.notes.forEach((n) => err(`note: ${n}`));
          return trainNewRun(ctx.db, ctx.config, req, hooks);
        });
        reportOutcome(outcome, !!o.json);
      } finally {
        ctx.close();
      }
    });

  ft.command('search')
    .description('hyper-parameter search (Optuna: TPE, random or grid; median pruning): short real train_lora.py runs on a subset; resumable')
    .option('--name <name>', 'study name; the same name continues the study (default <version_prefix>-<year>h<half>-search)')
    .option('--data <dir>', 'output folder of `kb finetune prepare` (default <data_dir>/<finetune.dataset_dir>)')
    .option('--base-model <path|id>', 'base weights (default finetune_runs.base_model_path or the planner preset)')
    .option('--gpu <id>', 'planner GPU id: seeds the base config and prices the budget (default finetune_runs.gpu)')
    .addOption(new Option('--method <method>', 'lora | qlora-8bit | qlora-4bit').choices(['lora', 'qlora-8bit', 'qlora-4bit']))
    .addOption(new Option('--sampler <sampler>', 'tpe (Bayesian) | random | grid').choices(['tpe', 'random', 'grid']).default('tpe'))
    .addOption(new Option('--pruner <pruner>', 'median | none').choices(['median', 'none']).default('median'))
    .option('--trials <n>', 'finished trials wanted in total (a resumed study counts the earlier ones)', positiveInt, 20)
    .option('--step-budget <n>', 'most optimizer steps per trial', positiveInt, 60)
    .option('--train-subset <n>', 'training samples per trial', positiveInt, 512)
    .option('--val-subset <n>', 'validation samples per trial', positiveInt, 64)
    .option('--evals-per-trial <n>', 'validation losses reported to the pruner per trial', positiveInt, 4)
    .option('--startup-trials <n>', 'random trials before TPE models the objective and before pruning starts', positiveInt, 5)
    .option('--space <file>', 'search space JSON/YAML (default: finetune/search/space.ts DEFAULT_SPACE)')
    .option('--max-hours <h>', 'refuse to start when the planner estimates more GPU-hours', Number, 8)
    .option('--max-cost <amount>', 'refuse to start when the estimated cost is higher (finetune.planner.gpu_prices_per_hour)', Number)
    .option('--force', 'start without a planner estimate or over the limits')
    .option('--set <key=value>', 'override a base run-config key, repeatable', collect, [])
    .option('--apply', 'write the best configuration into the next run (<runs_dir>/next-run.json, read by `kb finetune train`)')
    .option('--json', 'print the results as JSON')
    .action(async (o: { name?: string; data?: string; baseModel?: string; gpu?: string; method?: Method; sampler: 'tpe' | 'random' | 'grid'; pruner: 'median' | 'none'; trials: number; stepBudget: number; trainSubset: number; valSubset: number; evalsPerTrial: number; startupTrials: number; space?: string; maxHours?: number; maxCost?: number; force?: boolean; set: string[]; apply?: boolean; json?: boolean }) => {
      const ctx = openContext();
      const ac = new AbortController();
      const onSignal = () => {
        err('stopping the search: the running trial is abandoned (failed); the same command continues the study');
        ac.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const name = o.name ?? `${versionFor(new Date(), ctx.config.finetune_runs.version_prefix)}-search`;
        const outcome = await runSearch(
          ctx.db,
          ctx.config,
          {
            name,
            datasetDir: o.data,
            baseModel: o.baseModel,
            gpu: o.gpu,
            method: o.method,
            overrides: parseOverrides(o.set),
            space: o.space ? loadSpace(o.space) : undefined,
            options: { sampler: o.sampler, pruner: o.pruner, trials: o.trials, stepBudget: o.stepBudget, trainSubset: o.trainSubset, valSubset: o.valSubset, evalsPerTrial: o.evalsPerTrial, startupTrials: o.startupTrials },
            limits: { maxHours: o.maxHours, maxCost: o.maxCost },
            force: o.force,
          },
          {
            signal: ac.signal,
            onEvent: (e) => {
              if (o.json) return;
              if (e.event === 'search_start') err(`study ${name}: ${e.finished} finished trial(s), ${e.to_run} to run (${e.sampler}, ${e.pruner} pruning, ${e.train_samples} training samples, ≤ ${e.step_budget} steps each)`);
              if (e.event === 'trial_end') err(`trial ${e.number}: ${e.state}${e.value != null ? ` ${Number(e.value).toFixed(4)}` : ''} after ${e.steps} steps (${e.runtime_s} s)${e.error ? ` — ${e.error}` : ''}`);
            },
          },
        );
        outcome.notes.forEach((n) => err(`note: ${n}`));
        if (outcome.budget && !o.json) err(`budget: ≤ ${outcome.budget.hours} GPU-hours${outcome.budget.cost != null ? `, ≤ ${outcome.budget.cost} ${outcome.budget.currency}` : ''} (${outcome.budget.assumptions.join('; ')})`);
        const r = outcome.results;
        const applied = o.apply && r?.best ? applySearch(ctx.config, r) : null;
        if (o.json) json({ status: outcome.status, dir: outcome.dir, budget: outcome.budget, error: outcome.error, files: outcome.files, applied, ...(r ?? {}) });
        else if (r) {
          resultsTable(r).forEach((l) => out(l));
          importanceLines(r).forEach((l) => out(l));
          out(`report: ${outcome.files.report}\nplot: ${outcome.files.plot}`);
          if (applied) out(`applied trial ${r.best!.number} to the next run (${appliedSearchFile(ctx.config)}): ${JSON.stringify(applied.overrides)}`);
          else if (r.best) out(`apply with: kb finetune search --name ${name} --trials ${o.trials} --apply (a complete study re-runs nothing)`);
        }
        if (o.apply && !applied) err('nothing applied: no completed trial');
        if (outcome.error) err(`search: ${outcome.error}`);
        if (outcome.status === 'interrupted') {
          err(`interrupted; continue with the same command (--name ${name})`);
          process.exitCode = EXIT_INTERRUPTED;
        } else if (outcome.status === 'failed') process.exitCode = 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        ctx.close();
      }
    });

  ft.command('resume')
    .description('continue an interrupted (or failed) run from its latest checkpoint')
    .argument('<run>', 'run name or id')
    .option('--max-steps <n>', 'override training.max_steps for this attempt', positiveInt)
    .option('--verbose', "show the trainer's own log lines")
    .option('--json', 'print the final run record as one JSON object')
    .action(async (ref: string, o: { maxSteps?: number; verbose?: boolean; json?: boolean }) => {
      const ctx = openContext();
      try {
        const outcome = await withProgress(!!o.verbose, (hooks) => resumeTraining(ctx.db, ctx.config, ref, { ...hooks, maxSteps: o.maxSteps }));
        reportOutcome(outcome, !!o.json);
      } finally {
        ctx.close();
      }
    });

  ft.command('runs')
    .description('list fine-tune runs')
    .option('--json', 'print a JSON array')
    .action((o: { json?: boolean }) => {
      const ctx = openContext();
      try {
        reconcileStaleRuns(ctx.db);
        const runs = listRuns(ctx.db);
        if (o.json) return json(runs.map(runSummary));
        if (!runs.length) return out('no fine-tune runs yet (kb finetune train)');
        for (const r of runs) {
          const p = r.progress as { step?: number; total_steps?: number; loss?: number } | null;
          out(`${r.name.padEnd(24)} ${r.status.padEnd(12)} ${p?.step ?? 0}/${p?.total_steps ?? '?'} steps  loss ${p?.loss?.toFixed(4) ?? '-'}  ${r.updatedAt}`);
        }
      } finally {
        ctx.close();
      }
    });

  ft.command('show')
    .description('one run: status, progress, metrics, reproducibility record (code, config, data, seed, versions, planner estimate vs measured), error output')
    .argument('<run>', 'run name or id')
    .option('--json', 'print the run record as JSON')
    .action((ref: string, o: { json?: boolean }) => {
      const ctx = openContext();
      try {
        reconcileStaleRuns(ctx.db);
        const r = requireRun(ctx.db, ref);
        if (o.json) return json({ ...runSummary(r), exports: listExports(ctx.db, r.id) });
        out(`run ${r.name} (#${r.id}): ${r.status}, ${r.attempts} attempt(s), folder ${r.path}`);
        if (r.progress) out(`progress: ${JSON.stringify(r.progress)}`);
        if (r.metrics) out(`metrics: ${JSON.stringify(r.metrics)}`);
        reproLines(r).forEach((l) => out(l));
        for (const e of listExports(ctx.db, r.id)) out(`export #${e.id} ${e.format.padEnd(12)} sha256 ${e.sha256.slice(0, 16)}…  ${e.path}  ${e.createdAt}`);
        if (r.errorTail) out(`error output:\n${r.errorTail}`);
      } finally {
        ctx.close();
      }
    });

  ft.command('export')
    .description('export a trained run for servers without runtime LoRA: merged 16-bit weights (vLLM/TGI), GGUF + Ollama Modelfile, or the LoRA as GGUF')
    .argument('<run>', 'run name or id')
    .addOption(new Option('--format <format>', 'merged | gguf | adapter-gguf').choices(FORMATS).makeOptionMandatory())
    .option('--out <dir>', 'output folder (default <run folder>/export/<format>)')
    .addOption(new Option('--dtype <dtype>', 'merged weights precision').choices(['bf16', 'fp16']).default('bf16'))
    .addOption(new Option('--gguf-type <type>', "llama.cpp converter --outtype (smaller quantisations: llama-quantize, see finetune/RUNBOOK.md)").choices([...GGUF_TYPES]).default('f16'))
    .option('--llama-cpp <dir>', "llama.cpp folder holding convert_hf_to_gguf.py (default $LLAMA_CPP_DIR, else the trainer venv's pinned copy from setup-venv.sh, else the PATH)")
    .option('--ollama-base <model>', 'adapter-gguf: the Ollama model of the same base weights (Modelfile FROM)')
    .option('--system <text>', 'system prompt written into the Modelfile')
    .option('--json', 'print the registry record as JSON')
    .action(async (ref: string, o: { format: ExportFormat; out?: string; dtype: 'bf16' | 'fp16'; ggufType: (typeof GGUF_TYPES)[number]; llamaCpp?: string; ollamaBase?: string; system?: string; json?: boolean }) => {
      const ctx = openContext();
      try {
        const r = await exportRun(ctx.db, ctx.config, ref, { format: o.format, outDir: o.out, dtype: o.dtype, ggufType: o.ggufType, llamaCpp: o.llamaCpp, ollamaBase: o.ollamaBase, system: o.system }, { onText: (l) => err(l) });
        if (o.json) return json({ ...r.export, notes: r.notes });
        out(`${r.export.format} export of ${ref}: ${r.export.path}\nsha256 ${r.export.sha256} (${r.export.bytes} bytes), recorded as export #${r.export.id}`);
        r.notes.forEach((n) => out(n));
      } finally {
        ctx.close();
      }
    });

  ft.command('diff')
    .description('compare two runs: resolved config, data hash, code commit, library/CUDA/GPU versions, planner estimate, measured metrics')
    .argument('<a>', 'run name or id')
    .argument('<b>', 'run name or id')
    .option('--json', 'print [{key, a, b}] for the keys that differ')
    .action((refA: string, refB: string, o: { json?: boolean }) => {
      const ctx = openContext();
      try {
        const a = requireRun(ctx.db, refA);
        const b = requireRun(ctx.db, refB);
        if (o.json) return json(diffRuns(a, b));
        diffLines(a, b).forEach((l) => out(l));
      } finally {
        ctx.close();
      }
    });

  ft.command('eval')
    .description('ask the held-out test questions of the base model and the adapter, with and without retrieval; write the report')
    .requiredOption('--run <run>', 'run name or id (its adapter must be served by the assistant upstream, or loadable at runtime)')
    .option('--assistant <name>', 'assistant whose upstream and prompt settings are used (default finetune_runs.assistant)')
    .option('--max-samples <n>', 'ask only the first N test samples', positiveInt)
    .option('--no-retrieval', 'skip the settings with retrieval')
    .option('--test <file>', 'test JSONL (default: the run dataset samples/test.jsonl)')
    .option('--json', 'print the report as JSON')
    .action(async (o: EvalCliOptions) => {
      const ctx = openContext();
      try {
        const r = await runEvalCommand(ctx.config, ctx.db, ctx.log, o);
        if (o.json) return json(r.report);
        out(renderMarkdown(r.report));
        out(`report: ${r.files.markdown}\npredictions: ${r.files.predictions}`);
      } finally {
        ctx.close();
      }
    });

  ft.command('deploy')
    .description('load the adapter into the serving engine and point the assistant at it (promotion gate applies)')
    .argument('<run>', 'run name/id or adapter version')
    .option('--assistant <name>', 'assistant to point at the adapter (default finetune_runs.assistant)')
    .option('--force', 'deploy even when the promotion gate refuses (recorded)')
    .option('--no-load', 'do not call the runtime LoRA endpoint; only check /v1/models lists the adapter, then activate')
    .option('--note <text>', 'note stored with the deployment')
    .option('--json', 'print the result as JSON')
    .action(async (ref: string, o: { assistant?: string; force?: boolean; load: boolean; note?: string; json?: boolean }) => {
      const ctx = openContext();
      try {
        const assistant = o.assistant ?? ctx.config.finetune_runs.assistant;
        const { target } = assistantTarget(ctx.config, assistant);
        const a = adapterOf(ctx.db, ref);
        const r = await deployAdapter(ctx.db, { version: a.version, assistant, target, force: o.force, load: o.load, minImprovement: ctx.config.finetune_runs.deploy.min_improvement, note: o.note });
        if (o.json) json({ status: r.status, adapter: r.adapter.version, previous: r.previous, loaded: r.loaded, gate: r.gate, instructions: r.instructions, message: r.message });
        else {
          if (r.gate) err(`gate: ${r.gate.reason}`);
          out(r.message);
          if (r.instructions.length) out(r.instructions.join('\n'));
        }
        if (r.status === 'refused') process.exitCode = EXIT_GATE_REFUSED;
        if (r.status === 'needs_manual_load') process.exitCode = EXIT_NEEDS_MANUAL_LOAD;
      } finally {
        ctx.close();
      }
    });

  ft.command('rollback')
    .description('return the assistant to the adapter it used before the current one (or the base model)')
    .option('--assistant <name>', 'assistant (default finetune_runs.assistant)')
    .option('--note <text>', 'note stored with the rollback')
    .option('--json', 'print the result as JSON')
    .action(async (o: { assistant?: string; note?: string; json?: boolean }) => {
      const ctx = openContext();
      try {
        const assistant = o.assistant ?? ctx.config.finetune_runs.assistant;
        const { target } = assistantTarget(ctx.config, assistant);
        const r = await rollbackDeployment(ctx.db, { assistant, target, note: o.note });
        if (o.json) return json({ assistant, from: r.from.version, to: r.to?.version ?? null, served: r.served, warnings: r.warnings });
        out(`${assistant}: ${r.from.version} → ${r.to?.version ?? 'base model (no adapter)'}`);
        r.warnings.forEach((w) => err(`warning: ${w}`));
      } finally {
        ctx.close();
      }
    });

  ft.command('adapters')
    .description('the adapter registry and the deployment history')
    .option('--assistant <name>', 'history of one assistant only')
    .option('--json', 'print {adapters, active, history} as JSON')
    .action((o: { assistant?: string; json?: boolean }) => {
      const ctx = openContext();
      try {
        const assistant = o.assistant ?? ctx.config.finetune_runs.assistant;
        const adapters = listAdapters(ctx.db);
        const active = activeAdapter(ctx.db, assistant);
        const history = deploymentHistory(ctx.db, o.assistant);
        if (o.json) return json({ adapters: adapters.map((a) => ({ ...a, evalReport: undefined, score: a.evalReport?.settings.find((s) => s.setting === a.evalReport?.primary)?.score ?? null })), active: { assistant, adapter: active?.version ?? null }, history });
        out(`active for ${assistant}: ${active?.version ?? 'base model (no adapter)'}`);
        for (const a of adapters) {
          const score = a.evalReport?.settings.find((s) => s.setting === a.evalReport?.primary)?.score;
          out(`${a.version.padEnd(24)} ${a.status.padEnd(10)} score ${score?.toFixed(4) ?? '-'}  ${a.path}`);
        }
        if (history.length) out('history (newest first):');
        for (const h of history) out(`  ${h.at} ${h.assistant} ${h.action} → ${h.adapter ?? 'base'} (was ${h.previous ?? 'base'})${h.forced ? ' [forced]' : ''}${h.rolledBackAt ? ' [rolled back]' : ''}`);
      } finally {
        ctx.close();
      }
    });

  ft.command('schedule')
    .description('run the semiannual job (prepare → train → eval → gated deploy) on its cron schedule, in the foreground')
    .option('--once', 'run the job now, once, and exit')
    .option('--cron <expr>', 'cron expression (default finetune_runs.schedule.cron)')
    .action(async (o: { once?: boolean; cron?: string }) => {
      const config = loadConfig();
      const job = () => runJobOnce(config);
      if (o.once) {
        const outcome = await job();
        json(outcome);
        if (outcome.status === 'failed') process.exitCode = 1;
        return;
      }
      const s = config.finetune_runs.schedule;
      const task = scheduleSemiannual(o.cron ?? s.cron, s.timezone, async () => json(await job()));
      err(`finetune schedule "${o.cron ?? s.cron}"${s.timezone ? ` (${s.timezone})` : ''}: next run ${task.getNextRun()?.toISOString() ?? '?'}; Ctrl-C stops`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          void task.destroy();
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

/** One semiannual job (finetune/schedule/job.ts) with the CLI's store and logger. */
async function runJobOnce(config: Config) {
  const ctx = openContext(config);
  try {
    return await semiannualJob(config, ctx.db, ctx.log, (line) => err(`[finetune ${new Date().toISOString()}] ${line}`));
  } finally {
    ctx.close();
  }
}

/** Registers the subcommands on the existing `kb finetune` group, creating the group when absent. */
export function register(program: Command): void {
  const ft = program.commands.find((c) => c.name() === 'finetune') ?? program.command('finetune').description('LoRA fine-tuning: prepare, plan, train, eval, deploy');
  registerFinetuneRunCommands(ft);
}

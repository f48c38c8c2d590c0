import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { nowIso, type DB } from '../../src/store/index.ts';
import { TRAINER_SCRIPT, writeRunConfig, type RunConfig } from '../train/run-config.ts';
import { parseTrainerLine, type TrainerEvent } from './protocol.ts';
import { captureRepro, withMeasured, type PlannerEstimate } from './repro.ts';
import { getRun, insertRun, reconcileStaleRuns, requireRun, updateRun, type RunRecord } from './store.ts';

// Creates run folders, launches train_lora.py as a child process, follows its JSON-line
// protocol and keeps the run record in SQLite up to date.
//
// Run folder layout (<runs_dir>/<name>/):
//   run.json       the run config given to the trainer
//   trainer.log    everything the trainer printed (stdout + stderr), appended per attempt
//   events.jsonl   the protocol lines only
//   output/        the trainer's output_dir: checkpoints/, best/, adapter/, merged/, summary.json
//   eval/          `kb finetune eval` reports

/** How to start the trainer: `python script --config run.json [...]`. */
export interface TrainerLauncher {
  python: string;
  script?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunHooks {
  onEvent?(event: TrainerEvent): void;
  /** Plain (non-protocol) lines, e.g. library warnings and tracebacks. */
  onText?(line: string, stream: 'stdout' | 'stderr'): void;
  /** Aborting sends SIGTERM: the trainer checkpoints and exits; the run becomes 'interrupted'. */
  signal?: AbortSignal;
}

export interface LaunchOptions extends RunHooks {
  resume?: boolean;
  maxSteps?: number;
}

/** Lines of stderr kept as a failed run's error_tail. */
const ERROR_TAIL_LINES = 40;
const EXIT_INTERRUPTED = 130;

export function runFolder(runsDir: string, name: string): string {
  return path.resolve(runsDir, name);
}

/** Makes the run folder, writes run.json and records the run as 'created' with its reproducibility record. */
export function createRun(db: DB, opts: { runsDir: string; config: RunConfig; trigger?: string; planner?: PlannerEstimate | null }): RunRecord {
  const name = opts.config.run_name;
  if (getRun(db, name)) throw new Error(`a fine-tune run named "${name}" exists already; pick another --name`);
  const dir = runFolder(opts.runsDir, name);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`run folder ${dir} exists and is not empty`);
  fs.mkdirSync(dir, { recursive: true });
  writeRunConfig(path.join(dir, 'run.json'), opts.config);
  return insertRun(db, { name, config: opts.config, path: dir, trigger: opts.trigger, repro: captureRepro(opts.config, opts.planner ?? null) });
}

/** The argv that launches the trainer (torchrun for more than one process). */
export function trainerArgv(launcher: TrainerLauncher, run: RunRecord, opts: { resume?: boolean; maxSteps?: number }): string[] {
  // Resolved here: the trainer runs with the run folder as its working directory.
  const script = path.resolve(launcher.script ?? TRAINER_SCRIPT);
  const n = run.config.distributed.num_processes;
  const args = n > 1 ? ['-m', 'torch.distributed.run', '--standalone', `--nproc_per_node=${n}`, script] : [script];
  args.push('--config', path.join(run.path, 'run.json'));
  if (opts.resume) args.push('--resume');
  if (opts.maxSteps != null) args.push('--max-steps', String(opts.maxSteps));
  return args;
}

/**
 * Launches the trainer for a run and follows it to the end. Resolves with the final record:
 * 'succeeded' (exit 0 + summary), 'interrupted' (SIGTERM/SIGINT, exit 130 or killed by a
 * signal: resumable), or 'failed' (error_tail holds the trainer's error output).
 */
export async function launchTrainer(db: DB, ref: number | string, launcher: TrainerLauncher, opts: LaunchOptions = {}): Promise<RunRecord> {
  reconcileStaleRuns(db);
  const run = requireRun(db, ref);
  if (run.status === 'running') throw new Error(`run "${run.name}" is already running (pid ${run.pid})`);
  if (run.status === 'succeeded') throw new Error(`run "${run.name}" already succeeded`);

  const log = fs.createWriteStream(path.join(run.path, 'trainer.log'), { flags: 'a' });
  const events = fs.createWriteStream(path.join(run.path, 'events.jsonl'), { flags: 'a' });
  log.write(`\n=== attempt ${run.attempts + 1} ${opts.resume ? '(resume) ' : ''}at ${nowIso()} ===\n`);

  const argv = trainerArgv(launcher, run, opts);
  const child = spawn(launcher.python, argv, {
    cwd: run.path,
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...launcher.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  updateRun(db, run.id, { status: 'running', pid: child.pid ?? null, attempts: run.attempts + 1, errorTail: null, finishedAt: null });

  let summary: Record<string, unknown> | null = null;
  let errorEvent: { kind: string; message: string } | null = null;
  let interrupted = false;
  let progress: Record<string, unknown> = { ...(run.progress ?? {}) };
  const stderrTail: string[] = [];

  const onAbort = () => child.kill('SIGTERM');
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const stdoutDone = new Promise<void>((resolve) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      const ev = parseTrainerLine(line);
      if (!ev) {
        opts.onText?.(line, 'stdout');
        return;
      }
      events.write(`${line.trim()}\n`);
      switch (ev.event) {
        case 'start':
          progress = { ...progress, total_steps: ev.total_steps, step: ev.resumed_from_step, resumed_from_step: ev.resumed_from_step };
          break;
        case 'log': {
          const { event: _e, ...fields } = ev;
          progress = { ...progress, ...fields };
          break;
        }
        case 'eval':
          progress = { ...progress, eval_loss: ev.eval_loss, best_eval_loss: ev.best_eval_loss };
          break;
        case 'checkpoint':
          progress = { ...progress, last_checkpoint: ev.path, last_checkpoint_step: ev.step };
          break;
        case 'interrupted':
          interrupted = true;
          // step/checkpoint are null when the trainer was stopped before its first step.
          if (ev.checkpoint) progress = { ...progress, last_checkpoint: ev.checkpoint, last_checkpoint_step: ev.step };
          break;
        case 'summary': {
          const { event: _e, ...fields } = ev;
          summary = fields;
          break;
        }
        case 'error':
          errorEvent = { kind: ev.kind, message: ev.message };
          break;
      }
      if (ev.event !== 'summary' && ev.event !== 'error') updateRun(db, run.id, { progress });
      opts.onEvent?.(ev);
    }).on('close', resolve);
  });
  const stderrDone = new Promise<void>((resolve) => {
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      log.write(`[stderr] ${line}\n`);
      stderrTail.push(line);
      if (stderrTail.length > ERROR_TAIL_LINES) stderrTail.shift();
      opts.onText?.(line, 'stderr');
    }).on('close', resolve);
  });

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  await Promise.all([stdoutDone, stderrDone]);
  opts.signal?.removeEventListener('abort', onAbort);

  const finalSummary = summary as Record<string, unknown> | null;
  const finalError = errorEvent as { kind: string; message: string } | null;
  const tail = stderrTail.join('\n');
  if (exit.spawnError) {
    updateRun(db, run.id, { status: 'failed', pid: null, finishedAt: nowIso(), errorTail: `could not start the trainer (${launcher.python}): ${exit.spawnError.message}` });
  } else if (exit.code === 0 && finalSummary) {
    updateRun(db, run.id, {
      status: 'succeeded',
      pid: null,
      finishedAt: nowIso(),
      progress,
      metrics: finalSummary,
      adapterPath: typeof finalSummary.adapter_dir === 'string' ? finalSummary.adapter_dir : null,
      mergedPath: typeof finalSummary.merged_dir === 'string' ? finalSummary.merged_dir : null,
      datasetHash: typeof finalSummary.dataset_hash === 'string' ? finalSummary.dataset_hash : null,
      ...(run.repro ? { repro: withMeasured(run.repro, finalSummary) } : {}),
    });
  } else if (interrupted || exit.code === EXIT_INTERRUPTED || (exit.signal != null && !finalError)) {
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
    const at = progress.last_checkpoint_step != null ? `; resumes from the checkpoint at step ${progress.last_checkpoint_step}` : '; no checkpoint yet: resume restarts at step 0';
    updateRun(db, run.id, { status: 'interrupted', pid: null, progress, errorTail: `interrupted (${how})${at}${tail ? `\n${tail}` : ''}` });
  } else {
    const head = finalError ? `${finalError.kind}: ${finalError.message}` : `trainer exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}${exit.code === 0 ? ' without a summary line' : ''}`;
    updateRun(db, run.id, { status: 'failed', pid: null, finishedAt: nowIso(), progress, errorTail: tail ? `${head}\n${tail}` : head });
  }
  await Promise.all([new Promise((r) => log.end(r)), new Promise((r) => events.end(r))]);
  return requireRun(db, run.id);
}

/** Continues an interrupted (or failed) run from its latest complete checkpoint. */
export async function resumeRun(db: DB, ref: number | string, launcher: TrainerLauncher, opts: Omit<LaunchOptions, 'resume'> = {}): Promise<RunRecord> {
  reconcileStaleRuns(db);
  const run = requireRun(db, ref);
  if (run.status === 'created') throw new Error(`run "${run.name}" never started: use \`kb finetune train --run ${run.name}\``);
  return launchTrainer(db, run.id, launcher, { ...opts, resume: true });
}

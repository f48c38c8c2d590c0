import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type DB } from '../../src/store/index.ts';
import { buildRunConfig } from '../train/run-config.ts';
import { createRun, launchTrainer, resumeRun, trainerArgv, type TrainerLauncher } from './orchestrator.ts';
import { parseTrainerLine, type TrainerEvent } from './protocol.ts';
import { getRun, reconcileStaleRuns, updateRun } from './store.ts';

const standIn = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stand-in-trainer.mjs');
const launcher = (mode: string): TrainerLauncher => ({ python: process.execPath, script: standIn, env: { STAND_IN_MODE: mode } });

let dir: string;
let db: DB;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-runs-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function newRun(name = 'company-2026h1', overrides: Record<string, unknown> = {}) {
  const config = buildRunConfig({ runName: name, baseModel: 'org/base', datasetDir: path.join(dir, 'data'), runDir: path.join(dir, 'runs', name), overrides });
  return createRun(db, { runsDir: path.join(dir, 'runs'), config });
}

describe('protocol', () => {
  it('parses events and treats anything else as text', () => {
    expect(parseTrainerLine('{"event":"log","step":1,"total_steps":2,"loss":1}')).toMatchObject({ event: 'log', step: 1 });
    expect(parseTrainerLine('Loading checkpoint shards: 100%')).toBeNull();
    expect(parseTrainerLine('{"event":"nope"}')).toBeNull();
    expect(parseTrainerLine('{"event":"log"}')).toBeNull(); // missing fields
    expect(parseTrainerLine('{broken')).toBeNull();
  });
});

describe('orchestrator with a stand-in trainer', () => {
  it('creates the run folder and records a successful run', async () => {
    const run = newRun();
    expect(run.status).toBe('created');
    expect(fs.existsSync(path.join(run.path, 'run.json'))).toBe(true);
    const seen: TrainerEvent[] = [];
    const done = await launchTrainer(db, run.name, launcher('ok'), { onEvent: (e) => seen.push(e) });
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(1);
    expect(done.adapterPath).toBe(path.join(run.path, 'output', 'adapter'));
    expect(done.datasetHash).toBe('sha256:test');
    expect(done.metrics).toMatchObject({ status: 'completed', steps: 6, train_loss: 0.7 });
    expect(done.progress).toMatchObject({ step: 6, total_steps: 6, last_checkpoint_step: 2 });
    expect(done.finishedAt).not.toBeNull();
    expect(seen.filter((e) => e.event === 'log')).toHaveLength(6);
    const log = fs.readFileSync(path.join(run.path, 'trainer.log'), 'utf8');
    expect(log).toContain('Some library warning on stdout');
    const events = fs.readFileSync(path.join(run.path, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(events.every((l) => parseTrainerLine(l) !== null)).toBe(true);
    await expect(launchTrainer(db, run.name, launcher('ok'))).rejects.toThrow(/already succeeded/);
  });

  it('a failed run keeps the error event and the stderr tail', async () => {
    const run = newRun();
    const done = await launchTrainer(db, run.id, launcher('fail'));
    expect(done.status).toBe('failed');
    expect(done.errorTail).toContain('OutOfMemoryError: CUDA out of memory');
    expect(done.errorTail).toContain('Traceback (most recent call last)');
    expect(done.pid).toBeNull();
  });

  it('reports an invalid config (exit 2) as failed with the message', async () => {
    const done = await launchTrainer(db, newRun().id, launcher('invalid'));
    expect(done.status).toBe('failed');
    expect(done.errorTail).toMatch(/^invalid_input: invalid run config/);
  });

  it('reports a trainer that cannot be started', async () => {
    const done = await launchTrainer(db, newRun().id, { python: path.join(dir, 'no-python') });
    expect(done.status).toBe('failed');
    expect(done.errorTail).toMatch(/could not start the trainer/);
  });

  it('abort → trainer checkpoints, run is interrupted; resume continues from the saved step', async () => {
    const run = newRun();
    const ac = new AbortController();
    const interrupted = await launchTrainer(db, run.id, launcher('wait'), {
      signal: ac.signal,
      onText: (line) => {
        if (line.includes('"waiting"')) ac.abort();
      },
    });
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.progress).toMatchObject({ last_checkpoint_step: 2 });
    expect(interrupted.errorTail).toMatch(/resumes from the checkpoint at step 2/);
    expect(interrupted.finishedAt).toBeNull();

    const starts: TrainerEvent[] = [];
    const resumed = await resumeRun(db, run.name, launcher('ok'), { onEvent: (e) => e.event === 'start' && starts.push(e) });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.attempts).toBe(2);
    expect(starts[0]).toMatchObject({ resumed_from_step: 2 });
    expect(resumed.metrics).toMatchObject({ resumed: true, steps: 6 });
    expect(fs.readFileSync(path.join(run.path, 'trainer.log'), 'utf8')).toMatch(/attempt 2 \(resume\)/);
  });

  it('a trainer killed by a signal is interrupted (resumable), not failed', async () => {
    const done = await launchTrainer(db, newRun().id, launcher('crash'));
    expect(done.status).toBe('interrupted');
    expect(done.errorTail).toMatch(/killed by SIGKILL/);
  });

  it('passes --max-steps through and marks a stale running row as interrupted', async () => {
    const run = newRun();
    expect(trainerArgv({ python: 'python3' }, run, { resume: true, maxSteps: 3 }).slice(-4)).toEqual(['--config', path.join(run.path, 'run.json'), '--resume', '--max-steps', '3'].slice(-4));
    updateRun(db, run.id, { status: 'running', pid: 999_999_999 });
    expect(reconcileStaleRuns(db, () => false)).toBe(1);
    expect(getRun(db, run.id)!.status).toBe('interrupted');
    const done = await resumeRun(db, run.id, launcher('ok'), { maxSteps: 3 });
    expect(done.metrics).toMatchObject({ steps: 3 });
  });

  it('launches torchrun for more than one process', () => {
    const run = newRun('multi', { 'distributed.num_processes': 2 });
    const argv = trainerArgv({ python: 'python3' }, run, {});
    expect(argv.slice(0, 4)).toEqual(['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2']);
  });

  it('refuses duplicate run names and resuming a run that never started', async () => {
    newRun('dup');
    expect(() => newRun('dup')).toThrow(/exists already/);
    await expect(resumeRun(db, 'dup', launcher('ok'))).rejects.toThrow(/never started/);
  });
});

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../src/config/index.ts';
import { generateDemoCore } from '../../src/core/demo.ts';
import { openStore } from '../../src/store/index.ts';
import { estimateTokenCounter } from '../../src/text/tokens.ts';
import { prepareDataset } from '../prepare/index.ts';
import { TRAINER_SCRIPT, buildRunConfig, writeRunConfig } from './run-config.ts';
import { SETUP_COMMAND, venvPython } from './venv.ts';
import { runSearch } from '../search/service.ts';
import { exportRun } from '../export/index.ts';
import { chatTemplateFrom } from '../export/modelfile.ts';
import { insertRun, updateRun } from '../runs/store.ts';
import { parseRunConfig } from './run-config.ts';
import { TINY_CPU_RUN } from '../../test/fixtures/tiny-qwen2/run-overrides.ts';

// The real train_lora.py, on CPU, in the trainer's own environment (torch, transformers, peft,
// accelerate): a tiny randomly initialised Qwen2 with a tokenizer trained on the generated demo
// training set. Proves the loop the GPU host runs — loss falls, events carry their keys, the
// adapter reloads with peft, resume continues at the saved step, SIGTERM checkpoints and exits
// 130, early stopping fires on a flat validation loss, checkpoints rotate, merge writes weights.

const python = venvPython();
if (!python) console.warn(`real-trainer tests skipped: the trainer environment is not set up (run ${SETUP_COMMAND})`);

const FIXTURE = path.join(projectRoot, 'test', 'fixtures', 'tiny-qwen2');
type Event = Record<string, unknown> & { event: string };

let dir: string;
let model: string;
let data: string;

function configFile(name: string, overrides: Record<string, unknown>): string {
  const runDir = path.join(dir, name);
  const cfg = buildRunConfig({
    runName: name,
    baseModel: model,
    datasetDir: data,
    runDir,
    overrides: {
      ...TINY_CPU_RUN,
      'training.warmup_steps': 2,
      'eval.every_steps': 10,
      'logging.every_steps': 5,
      'checkpoint.every_steps': 10,
      ...overrides,
    },
  });
  const file = path.join(runDir, 'run.json');
  writeRunConfig(file, cfg);
  return file;
}

const parseEvents = (stdout: string): Event[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);

function train(config: string, args: string[] = []) {
  const r = spawnSync(python!, [TRAINER_SCRIPT, '--config', config, ...args], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '2', TOKENIZERS_PARALLELISM: 'false' },
  });
  return { status: r.status, events: parseEvents(r.stdout), stderr: r.stderr };
}

function check(...args: string[]): Record<string, number> {
  const r = spawnSync(python!, [path.join(FIXTURE, 'check.py'), ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const ofType = (events: Event[], type: string) => events.filter((e) => e.event === type);

beforeAll(async () => {
  if (!python) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-train-real-'));
  // The generated demo training set, as `kb finetune prepare` writes it.
  const db = openStore(':memory:');
  const config = loadConfig({ env: {} });
  generateDemoCore(db, config.core, path.join(dir, 'core'));
  data = path.join(dir, 'dataset');
  await prepareDataset({ db, core: config.core, finetune: config.finetune, outDir: data, seed: 7, tokenCounter: estimateTokenCounter });
  db.close();
  // A subset keeps CPU steps short: 160 training and 24 validation conversations.
  for (const [split, n] of [['train', 160], ['val', 24]] as const) {
    const file = path.join(data, `${split}.jsonl`);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, n).join('\n') + '\n');
  }
  model = path.join(dir, 'tiny-qwen2');
  const built = spawnSync(python, [path.join(FIXTURE, 'build.py'), '--out', model, '--corpus', path.join(data, 'train.jsonl')], { encoding: 'utf8', timeout: 180_000 });
  if (built.status !== 0) throw new Error(`building the tiny model failed:\n${built.stderr}`);
}, 400_000);
afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!python)('train_lora.py on a tiny Qwen2 (CPU)', () => {
  let main: ReturnType<typeof train>;
  let mainConfig: string;

  beforeAll(() => {
    mainConfig = configFile('main', { 'training.max_steps': 40, 'checkpoint.keep_last': 2, 'merge.enabled': true });
    main = train(mainConfig);
  }, 400_000);

  // The first run (40 steps, merge on) is shared by the checks below it.
  it('trains: the loss falls, and the progress and summary lines carry the documented keys', () => {
    expect(main.status, main.stderr.slice(-3000)).toBe(0);
    const start = ofType(main.events, 'start')[0];
    expect(start).toMatchObject({ total_steps: 40, resumed_from_step: 0, train_samples: 160, val_samples: 24, num_processes: 1 });
    expect(Object.keys(start)).toEqual(expect.arrayContaining(['protocol', 'run_name', 'base_model', 'steps_per_epoch', 'trainable_params', 'total_params', 'device', 'dataset_hash']));
    const logs = ofType(main.events, 'log');
    expect(logs.length).toBe(8);
    for (const l of logs) expect(Object.keys(l).sort()).toEqual(['epoch', 'eta_s', 'eval_loss', 'event', 'loss', 'lr', 'step', 'tokens_per_s', 'total_steps']);
    const first = logs[0].loss as number;
    const last = logs.at(-1)!.loss as number;
    expect(last).toBeLessThan(first * 0.75);
    const evals = ofType(main.events, 'eval');
    expect(evals.map((e) => e.step)).toEqual([10, 20, 30, 40]);
    expect(evals.at(-1)!.eval_loss as number).toBeLessThan(evals[0].eval_loss as number);
    const summary = ofType(main.events, 'summary')[0];
    expect(summary).toMatchObject({ status: 'completed', steps: 40, early_stopped: false, train_samples: 160 });
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining(['train_loss', 'final_eval_loss', 'best_eval_loss', 'best_step', 'tokens_trained', 'runtime_s', 'adapter_dir', 'merged_dir', 'versions', 'dataset_hash']),
    );
    // The reproducibility record's environment part (seed 004): versions, CUDA/driver/GPU (none on CPU).
    expect(summary.seed).toBe(42);
    expect(summary.tokens_per_s as number).toBeGreaterThan(0);
    expect(Object.keys(summary.versions as object).sort()).toEqual(['accelerate', 'cuda', 'cudnn', 'driver', 'gpus', 'peft', 'platform', 'python', 'torch', 'transformers']);
    expect(summary.versions).toMatchObject({ gpus: [], driver: null });
    console.info(`tiny Qwen2 on CPU (smoke figure, not a planner input): ${logs.at(-1)!.tokens_per_s} tokens/s, loss ${first.toFixed(2)} → ${last.toFixed(2)}`);
  });

  it('writes a PEFT adapter that reloads and answers the validation set better than the base model', () => {
    const adapter = path.join(dir, 'main', 'output', 'adapter');
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'run_metadata.json']) expect(fs.existsSync(path.join(adapter, f)), f).toBe(true);
    const r = check('adapter', model, adapter, path.join(data, 'val.jsonl'));
    expect(r.lora_modules).toBeGreaterThan(0);
    expect(r.adapter_loss).toBeLessThan(r.base_loss * 0.9);
  }, 300_000);

  it('rotates checkpoints, keeping the last keep_last', () => {
    const ckpts = fs.readdirSync(path.join(dir, 'main', 'output', 'checkpoints')).sort();
    expect(ckpts).toEqual(['step-0000020', 'step-0000030']);
  });

  it('merges the adapter into loadable full weights', () => {
    const merged = ofType(main.events, 'merged')[0];
    expect(merged).toBeDefined();
    const r = check('merged', merged.path as string, path.join(data, 'val.jsonl'));
    expect(r.params).toBeGreaterThan(0);
    // The merged model is the adapted model: its loss matches the best adapter's, not the base's.
    expect(Math.abs(r.loss - (ofType(main.events, 'summary')[0].best_eval_loss as number))).toBeLessThan(0.05);
  }, 300_000);

  it('resumes from a checkpoint at the saved step', () => {
    const config = configFile('resume', { 'training.max_steps': 20 });
    const first = train(config);
    expect(first.status, first.stderr.slice(-2000)).toBe(0);
    const second = train(config, ['--resume', '--max-steps', '30']);
    expect(second.status, second.stderr.slice(-2000)).toBe(0);
    // Checkpoints are written at every_steps before the last step: step 10 here.
    expect(ofType(second.events, 'start')[0]).toMatchObject({ resumed_from_step: 10, total_steps: 30 });
    expect(ofType(second.events, 'log')[0].step).toBe(15);
    expect(ofType(second.events, 'summary')[0]).toMatchObject({ steps: 30 });
  }, 600_000);

  it('on SIGTERM checkpoints the current step and exits 130', async () => {
    const config = configFile('sigterm', { 'training.max_steps': 500, 'logging.every_steps': 1, 'checkpoint.every_steps': 1000 });
    const child = spawn(python!, [TRAINER_SCRIPT, '--config', config], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '2' } });
    let out = '';
    let signalled = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (!signalled && parseEvents(out).some((e) => e.event === 'log' && (e.step as number) >= 3)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    const interrupted = ofType(parseEvents(out), 'interrupted')[0];
    expect(interrupted.step as number).toBeGreaterThanOrEqual(3);
    expect(fs.existsSync(path.join(interrupted.checkpoint as string, 'trainer_state.json'))).toBe(true);
    const resumed = train(config, ['--resume', '--max-steps', String((interrupted.step as number) + 2)]);
    expect(ofType(resumed.events, 'start')[0]).toMatchObject({ resumed_from_step: interrupted.step });
  }, 300_000);

  it('stops early when the validation loss stays flat', () => {
    // A learning rate too small to move the loss: every evaluation after the first is "no better".
    const config = configFile('flat', { 'training.max_steps': 60, 'training.learning_rate': 1e-9, 'eval.every_steps': 4, 'eval.early_stopping_patience': 2, 'eval.early_stopping_min_delta': 0.001 });
    const r = train(config);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(ofType(r.events, 'summary')[0]).toMatchObject({ status: 'early_stopped', early_stopped: true, steps: 12 });
    expect(ofType(r.events, 'eval').map((e) => e.patience_left)).toEqual([2, 1, 0]);
  }, 300_000);
});

describe.skipIf(!python)('search and export with the real trainer (CPU)', () => {
  it('runs a short Optuna search of real train_lora.py trials, including the cosine_with_restarts scheduler', async () => {
    const db = openStore(':memory:');
    const config = loadConfig({ env: { KB_DATA_DIR: path.join(dir, 'kb') } });
    const events: string[] = [];
    const r = await runSearch(
      db,
      config,
      {
        name: 'real-search',
        datasetDir: data,
        baseModel: model,
        force: true, // no planner GPU on a CPU test machine
        overrides: { 'data.max_seq_len': 256, 'training.precision': 'fp32', 'training.gradient_checkpointing': false, 'training.per_device_batch_size': 8, 'training.gradient_accumulation_steps': 1 },
        space: { params: { learning_rate: { type: 'float', low: 1e-3, high: 1e-2, log: true }, lora_r: { type: 'categorical', choices: [4, 8] }, lr_scheduler: { type: 'categorical', choices: ['cosine_with_restarts', 'linear'] } } },
        options: { sampler: 'random', pruner: 'none', trials: 2, stepBudget: 6, trainSubset: 64, valSubset: 16, evalsPerTrial: 2 },
      },
      { onEvent: (e) => events.push(e.event) },
    );
    db.close();
    expect(r.status, `${r.error}\n${fs.existsSync(path.join(r.dir, 'trials', '0000', 'trainer.log')) ? fs.readFileSync(path.join(r.dir, 'trials', '0000', 'trainer.log'), 'utf8').slice(-3000) : ''}`).toBe('completed');
    expect(r.results!.trials.map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE']);
    for (const t of r.results!.trials) {
      expect(t.value!).toBeGreaterThan(0);
      expect(t.steps).toBe(6);
    }
    expect(events.filter((e) => e === 'trial_eval')).toHaveLength(4); // evals at steps 3 and 6
    expect(r.results!.importances).not.toBeNull();
  }, 400_000);

  it('exports merged 16-bit weights that load and score like the adapter, with the chat template, recorded with a checksum', async () => {
    const db = openStore(':memory:');
    const config = loadConfig({ env: { KB_DATA_DIR: path.join(dir, 'kb') } });
    // A short run of its own (independent of the describe above).
    const trained = train(configFile('exp', { 'training.max_steps': 8, 'eval.every_steps': 4 }));
    expect(trained.status, trained.stderr.slice(-2000)).toBe(0);
    const cfg = parseRunConfig(JSON.parse(fs.readFileSync(path.join(dir, 'exp', 'run.json'), 'utf8')));
    const run = insertRun(db, { name: 'exp', config: cfg, path: path.join(dir, 'exp') });
    updateRun(db, run.id, { status: 'succeeded', adapterPath: path.join(dir, 'exp', 'output', 'adapter') });
    const { export: e } = await exportRun(db, config, 'exp', { format: 'merged', dtype: 'bf16', outDir: path.join(dir, 'exported') });
    db.close();
    expect(e.format).toBe('merged');
    expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(e.details.files as object)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors']));
    expect(JSON.parse(fs.readFileSync(path.join(e.path, 'config.json'), 'utf8')).dtype ?? JSON.parse(fs.readFileSync(path.join(e.path, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    expect(chatTemplateFrom([e.path]).family).toBe('chatml');
    const r = check('merged', e.path, path.join(data, 'val.jsonl'));
    const best = JSON.parse(fs.readFileSync(path.join(dir, 'exp', 'output', 'summary.json'), 'utf8')).best_eval_loss as number;
    expect(Math.abs(r.loss - best)).toBeLessThan(0.1); // bf16 rounding of the merged weights
  }, 300_000);
});

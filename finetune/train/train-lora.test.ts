import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAINER_SCRIPT, buildRunConfig, writeRunConfig } from './run-config.ts';

// train_lora.py must validate configs and data without torch (CI has none): these run it with
// the system python3 in --validate-only mode, plus its unittest module for the torch-free parts.

const python = process.env.KB_PYTHON ?? 'python3';
const hasPython = spawnSync(python, ['--version']).status === 0;
// No __pycache__ next to the sources.
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
let dir: string;

const line = (messages: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ messages, ...extra });
const convo = [
  { role: 'user', content: '华为的总部在哪里？' },
  { role: 'assistant', content: '深圳' },
];

function runPy(args: string[]) {
  const r = spawnSync(python, [TRAINER_SCRIPT, ...args], { encoding: 'utf8', env });
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, events, stderr: r.stderr };
}

function writeConfig(name: string, overrides: Record<string, unknown> = {}, dataset = path.join(dir, 'data')) {
  const runDir = path.join(dir, name);
  const cfg = buildRunConfig({ runName: name, baseModel: 'Qwen/Qwen2-0.5B', datasetDir: dataset, runDir, overrides });
  const file = path.join(runDir, 'run.json');
  writeRunConfig(file, cfg);
  return file;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-train-'));
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', 'train.jsonl'), [line(convo, { meta: { kind: 'fact' } }), line(convo)].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'data', 'val.jsonl'), line(convo) + '\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasPython)('train_lora.py without torch', () => {
  it('validates a config written by buildRunConfig and reports the dataset', () => {
    const r = runPy(['--config', writeConfig('ok'), '--validate-only']);
    expect(r.status).toBe(0);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ event: 'validated', run_name: 'ok', train_samples: 2, val_samples: 1 });
    expect(String(r.events[0].dataset_hash)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('rejects a bad config value with exit 2 and names the key', () => {
    const file = writeConfig('bad');
    const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    raw.training.precision = 'int4';
    raw.lora.extra = 1;
    fs.writeFileSync(file, JSON.stringify(raw));
    const r = runPy(['--config', file, '--validate-only']);
    expect(r.status).toBe(2);
    expect(r.events[0]).toMatchObject({ event: 'error', kind: 'invalid_input' });
    expect(String(r.events[0].message)).toContain('lora.extra: unknown key');
    raw.lora = { r: 8, alpha: 16, dropout: 0.05, target_modules: 'all-linear' };
    fs.writeFileSync(file, JSON.stringify(raw));
    expect(String(runPy(['--config', file, '--validate-only']).events[0].message)).toContain('training.precision');
  });

  it('names the file and line of bad training data', () => {
    const data = path.join(dir, 'baddata');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'train.jsonl'), `${line(convo)}\n{not json\n${line([{ role: 'user', content: 'q' }])}\n`);
    fs.writeFileSync(path.join(data, 'val.jsonl'), `${line(convo)}\n`);
    const r = runPy(['--config', writeConfig('baddata', {}, data), '--validate-only']);
    expect(r.status).toBe(2);
    const msg = String(r.events[0].message);
    expect(msg).toContain('train.jsonl:2: invalid JSON');
    expect(msg).toContain('train.jsonl:3: no assistant message');
  });

  it('reports a missing data file and a missing local base model', () => {
    const r = runPy(['--config', writeConfig('nodata', {}, path.join(dir, 'nowhere')), '--validate-only']);
    expect(r.status).toBe(2);
    expect(String(r.events[0].message)).toMatch(/train\.jsonl: file not found/);
    const r2 = runPy(['--config', writeConfig('nomodel', { base_model: './no-such-model' }), '--validate-only']);
    expect(String(r2.events[0].message)).toMatch(/local folder .*no-such-model does not exist/);
  });

  it('rejects --max-steps 0 in argument parsing', () => {
    const r = runPy(['--config', writeConfig('ms'), '--validate-only', '--max-steps', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--max-steps must be');
  });

  // Real training runs in train-real.test.ts, in the trainer's own environment.
  const systemHasTorch = hasPython && spawnSync(python, ['-c', 'import torch']).status === 0;
  it.skipIf(systemHasTorch)('training without torch fails with a missing-dependency error naming the setup, not a traceback', () => {
    const r = runPy(['--config', writeConfig('notorch')]);
    expect(r.status).toBe(1);
    expect(r.events.at(-1)).toMatchObject({ event: 'error', kind: 'missing_dependency' });
    expect(String(r.events.at(-1)!.message)).toContain('finetune/train/setup-venv.sh');
  });

  it('passes its torch-free unit tests (masking, batching, config)', () => {
    const r = spawnSync(python, ['-m', 'unittest', 'test_train_lora'], { cwd: path.dirname(TRAINER_SCRIPT), encoding: 'utf8', env });
    expect(r.stderr).toMatch(/OK\s*$/);
    expect(r.status).toBe(0);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { TRAINER_SCRIPT } from '../train/run-config.ts';
import { datasetHash, diffRecords, flatten, gitState } from './repro.ts';
import { trainNewRun } from './service.ts';
import { diffLines, diffRuns, reproLines } from './show.ts';
import { insertRun, requireRun } from './store.ts';

const standIn = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stand-in-trainer.mjs');
const launcher = { python: process.execPath, script: standIn, env: { STAND_IN_MODE: 'ok' } };

let dir: string;
let db: DB;
let config: Config;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-repro-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
  config = loadConfig({ env: { KB_DATA_DIR: dir } });
  const data = path.join(dir, config.finetune.dataset_dir);
  fs.mkdirSync(path.join(data, 'openai'), { recursive: true });
  for (const split of ['train', 'val', 'test']) {
    fs.writeFileSync(path.join(data, 'openai', `${split}.jsonl`), `${JSON.stringify({ messages: [{ role: 'user', content: `q ${split}` }, { role: 'assistant', content: 'a' }] })}\n`);
  }
  // The data-quality report prepare writes: the planner turns its token total into time and cost.
  fs.writeFileSync(path.join(data, 'report.json'), JSON.stringify({ tokens: { train: { total: 2_000_000, max: 900, count: 1000 } } }));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('reproducibility record', () => {
  it("hashes the data exactly as train_lora.py does, so the record and the trainer's hash can be compared", () => {
    const files = ['train', 'val'].map((s) => path.join(dir, config.finetune.dataset_dir, 'openai', `${s}.jsonl`));
    const py = spawnSync('python3', ['-c', `import sys, json; sys.path.insert(0, ${JSON.stringify(path.dirname(TRAINER_SCRIPT))}); from train_lora import dataset_hash; print(dataset_hash(json.loads(sys.argv[1])))`, JSON.stringify(files)], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    expect(datasetHash(files)).toBe(py.stdout.trim());
    expect(datasetHash([...files, path.join(dir, 'missing.jsonl')])).toBeNull();
  });

  it('records the git commit and whether the tree was dirty; null outside a checkout', () => {
    expect(gitState(dir)).toEqual({ commit: null, dirty: null });
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q');
    fs.writeFileSync(path.join(repo, 'f'), '1');
    git('add', 'f');
    git('commit', '-qm', 'x');
    expect(gitState(repo)).toEqual({ commit: git('rev-parse', 'HEAD'), dirty: false });
    fs.writeFileSync(path.join(repo, 'f'), '2');
    expect(gitState(repo).dirty).toBe(true);
  });

  it('stores code, config, data, seed and the planner estimate at creation, and the measured figures once trained', async () => {
    const o = await trainNewRun(db, config, { name: 'a', gpu: 'rtx4090-24g', method: 'qlora-4bit', overrides: { 'training.seed': 7 } }, { launcher });
    expect(o.run.status).toBe('succeeded');
    const r = requireRun(db, 'a').repro!;
    expect(r.seed).toBe(7);
    expect(r.data_hash).toBe(datasetHash([o.run.config.data.train, o.run.config.data.val]));
    expect(r.config_sha256).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.node).toBe(process.version);
    // The planner estimate was sized from the dataset report: time and tokens/s are numbers.
    expect(r.planner).toMatchObject({ gpu: 'rtx4090-24g', method: 'qlora-4bit', dataset_tokens: 2_000_000, throughput_source: 'estimate' });
    expect(r.planner!.tokens_per_s).toBeGreaterThan(0);
    expect(r.planner!.time_hours).toBeGreaterThan(0);
    expect(r.measured).toMatchObject({ tokens_per_s: 4000, peak_memory_gb: 9.5, runtime_s: 12, tokens_trained: 48000, dataset_hash: 'sha256:test' });
    expect(r.measured!.environment).toMatchObject({ torch: '2.13.0', accelerate: '1.15.0', cuda: '12.8', driver: '570.86', gpus: ['NVIDIA H200'] });

    const text = reproLines(requireRun(db, 'a')).join('\n');
    expect(text).toMatch(/seed {8}7/);
    expect(text).toMatch(/4000 tokens\/s \([\d.]+× the estimate\)/);
    expect(text).toMatch(/CUDA 12\.8 · driver 570\.86 · GPU NVIDIA H200/);
    // The stand-in reports another hash than the files': show flags that the data changed.
    expect(text).toMatch(/the trainer saw sha256:test: the data changed after creation/);
  });

  it('diff lists what differs between two runs and ignores what differs by construction', async () => {
    await trainNewRun(db, config, { name: 'a' }, { launcher });
    await trainNewRun(db, config, { name: 'b', overrides: { 'training.learning_rate': 1e-4, 'lora.r': 32 } }, { launcher });
    const d = diffRuns(requireRun(db, 'a'), requireRun(db, 'b'));
    const keys = d.map((x) => x.key);
    expect(keys).toEqual(expect.arrayContaining(['config.training.learning_rate', 'config.lora.r']));
    expect(d.find((x) => x.key === 'config.lora.r')).toEqual({ key: 'config.lora.r', a: 16, b: 32 });
    expect(keys.some((k) => /run_name|output_dir|captured_at|config_sha256|adapter_dir/.test(k))).toBe(false);
    expect(diffLines(requireRun(db, 'a'), requireRun(db, 'a'))).toEqual(['a and a: same config, data, code and environment']);
    expect(diffLines(requireRun(db, 'a'), requireRun(db, 'b')).join('\n')).toMatch(/config\.lora\.r\s+16 {2}→ {2}32/);
  });

  it('runs created before the record existed show that, and diff still compares their configs', async () => {
    const o = await trainNewRun(db, config, { name: 'new' }, { launcher });
    const old = insertRun(db, { name: 'old', config: { ...o.run.config, run_name: 'old' }, path: dir });
    expect(old.repro).toBeNull();
    expect(reproLines(old)).toEqual(['reproducibility: not recorded (run created before the record existed)']);
    expect(diffRuns(old, requireRun(db, 'new')).some((x) => x.key === 'repro.seed')).toBe(true);
  });

  it('flattens nested records; arrays are single values', () => {
    expect(flatten({ a: { b: 1, c: [1, 2] }, d: null, e: {} })).toEqual({ 'a.b': 1, 'a.c': [1, 2], d: null, e: {} });
    expect(diffRecords({ a: { b: 1 } }, { a: { b: 1, c: 2 } })).toEqual([{ key: 'a.c', a: undefined, b: 2 }]);
  });
});

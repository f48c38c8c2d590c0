import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { getAdapter } from '../registry/index.ts';
import { nextRunName, planRun, resumeTraining, trainNewRun } from './service.ts';
import { insertRun } from './store.ts';
import { plan, readThroughputFile } from '../plan/index.ts';

const standIn = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stand-in-trainer.mjs');
const launcher = (mode: string) => ({ python: process.execPath, script: standIn, env: { STAND_IN_MODE: mode } });

let dir: string;
let db: DB;
let config: Config;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-svc-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
  config = loadConfig({ env: { KB_DATA_DIR: dir } });
  // A prepare output folder in its real layout: openai/ (chat) + samples/ (records).
  for (const sub of ['openai', 'samples']) {
    fs.mkdirSync(path.join(dir, config.finetune.dataset_dir, sub), { recursive: true });
    for (const split of ['train', 'val', 'test']) {
      fs.writeFileSync(path.join(dir, config.finetune.dataset_dir, sub, `${split}.jsonl`), `${JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] })}\n`);
    }
  }
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('run service', () => {
  it("plans from the planner's recommendation for the GPU, with the prepare layout's chat files", () => {
    const { config: rc, notes } = planRun(db, config, { gpu: 'rtx4090-24g', method: 'qlora-4bit', now: new Date('2026-02-01T00:00:00Z') });
    expect(rc.run_name).toBe('company-2026h1');
    expect(rc.quantization).toBe('4bit');
    expect(rc.data.train).toBe(path.join(dir, config.finetune.dataset_dir, 'openai', 'train.jsonl'));
    expect(rc.base_model).toBe('deepseek-ai/DeepSeek-R1-Distill-Qwen-7B');
    expect(rc.metadata.planner).toMatchObject({ gpu: 'rtx4090-24g', method: 'qlora-4bit' });
    expect(notes).toEqual(expect.any(Array));
    expect(planRun(db, config, {}).notes.join()).toMatch(/no GPU given/);
    expect(planRun(db, config, { gpu: 'no-such-gpu' }).notes.join()).toMatch(/planner unavailable/);
  });

  it('names runs per half-year and avoids taken names', () => {
    const now = new Date('2026-08-01T00:00:00Z');
    expect(nextRunName(db, 'acme', now)).toBe('acme-2026h2');
    const cfg = planRun(db, config, { name: 'acme-2026h2' }).config;
    insertRun(db, { name: 'acme-2026h2', config: cfg, path: dir });
    expect(nextRunName(db, 'acme', now)).toBe('acme-2026h2-2');
  });

  it('trains, registers the adapter under the run name; resume after interruption registers it too', async () => {
    const ok = await trainNewRun(db, config, { name: 'company-2026h1' }, { launcher: launcher('ok') });
    expect(ok.run.status).toBe('succeeded');
    expect(ok.adapter).toMatchObject({ version: 'company-2026h1', status: 'candidate', path: ok.run.adapterPath });

    const failed = await trainNewRun(db, config, { name: 'company-2026h1-2' }, { launcher: launcher('crash') });
    expect(failed.run.status).toBe('interrupted');
    expect(failed.adapter).toBeNull();
    expect(getAdapter(db, 'company-2026h1-2')).toBeNull();
    const resumed = await resumeTraining(db, config, 'company-2026h1-2', { launcher: launcher('ok') });
    expect(resumed.run.status).toBe('succeeded');
    expect(resumed.adapter!.version).toBe('company-2026h1-2');
  });

  it('records a finished run\'s measured throughput where the planner reads it', async () => {
    const file = path.join(dir, 'finetune', 'throughput.json');
    await trainNewRun(db, config, { name: 'no-gpu' }, { launcher: launcher('ok') });
    expect(fs.existsSync(file)).toBe(false); // no planner GPU: nothing to attribute the figure to
    const run = await trainNewRun(db, config, { name: 'on-4090', gpu: 'rtx4090-24g', method: 'qlora-4bit' }, { launcher: launcher('ok') });
    expect(run.run.status).toBe('succeeded');
    const recorded = readThroughputFile(file);
    expect(recorded).toEqual([expect.objectContaining({ gpu: 'rtx4090-24g', method: 'qlora-4bit', tokens_per_second: 4000, run: 'on-4090' })]);
    const p = plan({ model: recorded[0].model, method: 'qlora-4bit', gpu: 'rtx4090-24g', datasetTokens: 1_000_000, epochs: 1, utilization: 0.35, prices: {}, currency: 'USD', measured: recorded });
    expect(p.throughput).toMatchObject({ tokens_per_second: 4000, source: 'measured' });
  });
});

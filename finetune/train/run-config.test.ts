import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunConfig, parseOverrides, parseRunConfig } from './run-config.ts';

const base = { runName: 'company-2026h1', baseModel: '/models/r1-7b', datasetDir: '/data/ft/2026h1', runDir: '/runs/company-2026h1' };

describe('buildRunConfig', () => {
  it('uses defaults, absolute data paths and the run folder', () => {
    const cfg = buildRunConfig(base);
    expect(cfg.data).toEqual({ train: '/data/ft/2026h1/train.jsonl', val: '/data/ft/2026h1/val.jsonl', max_seq_len: 2048 });
    expect(cfg.output_dir).toBe(path.resolve('/runs/company-2026h1/output'));
    expect(cfg.quantization).toBe('none');
    expect(cfg.training.lr_scheduler).toBe('cosine');
    expect(cfg.metadata.dataset_dir).toBe('/data/ft/2026h1');
  });

  it("takes the planner's recommendation, then overrides", () => {
    const cfg = buildRunConfig({
      ...base,
      recommendation: { method: 'qlora-4bit', rank: 8, learning_rate: 1e-4, micro_batch: 4, gradient_accumulation: 4, seq_len: 1024, precision: 'fp16', gradient_checkpointing: false },
      overrides: { 'training.max_steps': 200, 'lora.r': 32 },
    });
    expect(cfg.quantization).toBe('4bit');
    expect(cfg.lora).toMatchObject({ r: 32, alpha: 16 });
    expect(cfg.training).toMatchObject({ learning_rate: 1e-4, per_device_batch_size: 4, gradient_accumulation_steps: 4, precision: 'fp16', gradient_checkpointing: false, max_steps: 200 });
    expect(cfg.data.max_seq_len).toBe(1024);
  });

  it('rejects unknown override keys and invalid values', () => {
    expect(() => buildRunConfig({ ...base, overrides: { 'training.max_stpes': 1 } })).toThrow(/unknown run config key "training.max_stpes"/);
    expect(() => buildRunConfig({ ...base, overrides: { 'training.learning_rate': 5 } })).toThrow(/training\.learning_rate/);
    expect(() => buildRunConfig({ ...base, runName: 'bad name' })).toThrow(/run_name/);
  });

  it('parses key=value overrides as JSON where possible', () => {
    expect(parseOverrides(['training.max_steps=200', 'lora.target_modules=["q_proj","v_proj"]', 'base_model=org/m'])).toEqual({
      'training.max_steps': 200,
      'lora.target_modules': ['q_proj', 'v_proj'],
      base_model: 'org/m',
    });
    expect(() => parseOverrides(['nokey'])).toThrow(/key=value/);
  });

  it('parseRunConfig rejects extra keys', () => {
    const cfg = buildRunConfig(base) as Record<string, unknown>;
    expect(() => parseRunConfig({ ...cfg, extra: 1 })).toThrow();
  });
});

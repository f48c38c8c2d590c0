import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimateMemory, findModel, flopsPerToken, GPU_PRESETS, listPresets, MODEL_PRESETS, plan, readThroughputFile, recordThroughput, seqLenFor, type Method } from './index.ts';

// Published LoRA/QLoRA memory guidance (LLaMA-Factory hardware table), GB.
const ANCHORS: [string, Method, number][] = [
  ['deepseek-r1-distill-qwen-7b', 'lora', 16],
  ['deepseek-r1-distill-qwen-7b', 'qlora-8bit', 10],
  ['deepseek-r1-distill-qwen-7b', 'qlora-4bit', 6],
  ['deepseek-r1-distill-qwen-14b', 'lora', 32],
  ['deepseek-r1-distill-qwen-14b', 'qlora-8bit', 20],
  ['deepseek-r1-distill-qwen-14b', 'qlora-4bit', 12],
  ['deepseek-r1-distill-qwen-32b', 'lora', 65],
  ['deepseek-r1-distill-qwen-32b', 'qlora-8bit', 40],
  ['deepseek-r1-distill-qwen-32b', 'qlora-4bit', 24],
];
// The guidance is the minimum-memory configuration: micro-batch 1, short sequences, checkpointing
// on, the default LoRA rank 8.
const MINIMAL = { rank: 8, batch: 1, seqLen: 512, gradientCheckpointing: true };

const base = { datasetTokens: 1_000_000, epochs: 3, utilization: 0.35, prices: { 'a100-80g': 2, 'rtx3060-12g': 0.1 }, currency: 'USD' };

describe('memory estimate', () => {
  it.each(ANCHORS)('%s %s lands within ±25%% of %d GB', (model, method, anchor) => {
    const total = estimateMemory(findModel(model), { method, ...MINIMAL }).total;
    expect(Math.abs(total - anchor) / anchor).toBeLessThanOrEqual(0.25);
  });

  it('grows with batch and sequence length, and checkpointing cuts activations', () => {
    const m = findModel('deepseek-r1-distill-qwen-7b');
    const small = estimateMemory(m, { method: 'lora', rank: 16, batch: 1, seqLen: 1024, gradientCheckpointing: true });
    const big = estimateMemory(m, { method: 'lora', rank: 16, batch: 4, seqLen: 2048, gradientCheckpointing: true });
    const noGc = estimateMemory(m, { method: 'lora', rank: 16, batch: 4, seqLen: 2048, gradientCheckpointing: false });
    expect(big.activations).toBeGreaterThan(small.activations * 4);
    expect(noGc.activations).toBeGreaterThan(big.activations * 5);
    expect(big.weights).toBe(small.weights);
  });

  it('counts LoRA parameters from the architecture (7B, rank 8 on all linear layers ≈ 20M)', () => {
    const b = estimateMemory(findModel('deepseek-r1-distill-qwen-7b'), { method: 'lora', ...MINIMAL });
    expect(b.trainable_params).toBe(20_185_088);
  });
});

describe('plan', () => {
  it('fits 7B QLoRA-4bit on a 12 GB card by shrinking the micro-batch, and says 32B LoRA does not fit 40 GB', () => {
    const p = plan({ ...base, model: 'deepseek-r1-distill-qwen-7b', method: 'qlora-4bit', gpu: 'rtx3060-12g' });
    expect(p.fits).toBe(true);
    expect(p.memory_gb.total).toBeLessThanOrEqual(12);
    expect(p.recommended.micro_batch * p.recommended.gradient_accumulation).toBe(p.recommended.effective_batch);
    const no = plan({ ...base, model: 'deepseek-r1-distill-qwen-32b', method: 'lora', gpu: 'a100-40g' });
    expect(no.fits).toBe(false);
    expect(no.notes.join(' ')).toMatch(/does not fit/);
  });

  it('estimates time from dataset tokens × epochs ÷ throughput and cost from the price table', () => {
    const p = plan({ ...base, model: 'deepseek-r1-distill-qwen-7b', method: 'lora', gpu: 'a100-80g', seqLen: 1024 });
    expect(p.throughput.source).toBe('estimate');
    const expected = (312e12 * 0.35) / flopsPerToken(p.model, 1024, p.settings.gradient_checkpointing);
    expect(p.throughput.tokens_per_second).toBe(Math.round(expected));
    expect(p.time_hours).toBeCloseTo(3_000_000 / p.throughput.tokens_per_second / 3600, 2);
    expect(p.cost.total).toBeCloseTo(2 * p.time_hours!, 1);
  });

  it('prefers a measured throughput for the same model, method and GPU', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kb-tp-')), 'throughput.json');
    recordThroughput(file, { model: 'deepseek-r1-distill-qwen-7b', method: 'lora', gpu: 'a100-80g', tokens_per_second: 1000, measured_at: '2026-01-01T00:00:00Z', run: 'r1' });
    const p = plan({ ...base, model: 'deepseek-r1-distill-qwen-7b', method: 'lora', gpu: 'a100-80g', measured: readThroughputFile(file) });
    expect(p.throughput).toMatchObject({ source: 'measured', tokens_per_second: 1000 });
    expect(p.time_hours).toBeCloseTo(3_000_000 / 1000 / 3600, 3);
    const other = plan({ ...base, model: 'deepseek-r1-distill-qwen-7b', method: 'qlora-4bit', gpu: 'a100-80g', measured: readThroughputFile(file) });
    expect(other.throughput.source).toBe('estimate');
  });

  it('leaves time and cost empty when the dataset size is unknown, and flags GPUs without BF16', () => {
    const p = plan({ ...base, datasetTokens: null, model: 'deepseek-r1-distill-qwen-1.5b', method: 'lora', gpu: 'v100-32g' });
    expect(p.time_hours).toBeNull();
    expect(p.cost.total).toBeNull();
    expect(p.recommended.precision).toBe('fp16');
  });

  it('rejects unknown models, GPUs and over-long sequences', () => {
    expect(() => plan({ ...base, model: 'gpt-5', method: 'lora', gpu: 'a100-80g' })).toThrow(/unknown model/);
    expect(() => plan({ ...base, model: 'deepseek-r1-distill-qwen-7b', method: 'lora', gpu: 'tpu' })).toThrow(/unknown GPU/);
    expect(() => plan({ ...base, model: 'deepseek-r1-distill-qwen-7b', method: 'lora', gpu: 'a100-80g', seqLen: 1 << 20 })).toThrow(/context/);
  });

  it('lists the presets', () => {
    const l = listPresets();
    expect(l.models.map((m) => m.id)).toEqual(MODEL_PRESETS.map((m) => m.id));
    expect(l.gpus.map((g) => g.id)).toEqual(expect.arrayContaining(['rtx3060-12g', 'rtx4090-24g', 'a100-80g', 'h100-80g']));
    expect(GPU_PRESETS).toHaveLength(9);
    expect(seqLenFor(700)).toBe(1024);
    expect(seqLenFor(10)).toBe(256);
  });
});

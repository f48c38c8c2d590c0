import { estimateMemory, round, type MemoryBreakdown } from './memory.ts';
import { findGpu, findModel, GPU_PRESETS, MODEL_PRESETS, type GpuPreset, type Method, type ModelPreset } from './presets.ts';
import { recommend, type Recommendation } from './recommend.ts';
import { estimateThroughput, type Throughput, type ThroughputRecord } from './throughput.ts';

export * from './presets.ts';
export { estimateMemory, loraParamCount, type MemoryBreakdown, type MemorySettings } from './memory.ts';
export { recommend, type Recommendation } from './recommend.ts';
export { estimateThroughput, flopsPerToken, readThroughputFile, recordThroughput, type ThroughputRecord } from './throughput.ts';

export interface PlanInput {
  model: string;
  method: Method;
  gpu: string;
  /** Overrides; when absent the planner picks them (micro-batch shrinks until the run fits). */
  rank?: number;
  batch?: number;
  seqLen?: number;
  /** true/false forces it; undefined = off when it fits without, else on. */
  gradientCheckpointing?: boolean;
  /** Tokens in one epoch of the training split (null = unknown: no time or cost). */
  datasetTokens: number | null;
  epochs: number;
  utilization: number;
  /** Hourly price per GPU id from config. */
  prices: Record<string, number>;
  currency: string;
  measured?: ThroughputRecord[];
}

export interface Plan {
  model: ModelPreset;
  gpu: GpuPreset;
  method: Method;
  fits: boolean;
  memory_gb: MemoryBreakdown & { gpu: number; headroom: number };
  settings: { rank: number; micro_batch: number; seq_len: number; gradient_checkpointing: boolean };
  recommended: Recommendation & { gradient_checkpointing: boolean; seq_len: number };
  throughput: Throughput;
  dataset_tokens: number | null;
  epochs: number;
  time_hours: number | null;
  cost: { currency: string; per_hour: number | null; total: number | null; source: string };
  notes: string[];
}

export const DEFAULT_SEQ_LEN = 1024;

export function plan(input: PlanInput): Plan {
  const model = findModel(input.model);
  const gpu = findGpu(input.gpu);
  const notes: string[] = [];
  const rec = recommend(model, input.method, gpu.bf16, input.epochs);
  if (!gpu.bf16) notes.push(`${gpu.id} has no BF16: train in FP16 mixed precision (watch for loss-scale overflows)`);
  const rank = input.rank ?? rec.rank;
  const seqLen = input.seqLen ?? DEFAULT_SEQ_LEN;
  if (seqLen > model.context_length) throw new Error(`sequence length ${seqLen} exceeds ${model.id}'s context (${model.context_length})`);

  const mem = (batch: number, gc: boolean) =>
    estimateMemory(model, { method: input.method, rank, batch, seqLen, gradientCheckpointing: gc });
  const fitsIn = (b: MemoryBreakdown) => b.total <= gpu.memory_gb;

  // Search: checkpointing off first (faster), then on, halving the micro-batch until it fits.
  let batch = input.batch ?? rec.micro_batch;
  let gc = input.gradientCheckpointing ?? false;
  let breakdown = mem(batch, gc);
  if (!fitsIn(breakdown) && input.gradientCheckpointing === undefined) {
    gc = true;
    breakdown = mem(batch, gc);
  }
  while (!fitsIn(breakdown) && input.batch === undefined && batch > 1) {
    batch = Math.max(1, Math.floor(batch / 2));
    breakdown = mem(batch, gc);
  }
  const fits = fitsIn(breakdown);
  if (!fits) notes.push(`does not fit: needs ${breakdown.total} GB at micro-batch ${batch}, ${gpu.id} has ${gpu.memory_gb} GB`);
  if (gc) notes.push('gradient checkpointing on: ~50% more compute per token, far less activation memory');

  const accumulation = Math.max(1, Math.round(rec.effective_batch / batch));
  const throughput = estimateThroughput(model, gpu, input.method, seqLen, gc, input.utilization, input.measured);
  const timeHours =
    input.datasetTokens == null ? null : round((input.datasetTokens * input.epochs) / throughput.tokens_per_second / 3600, 3);
  if (input.datasetTokens == null) notes.push('dataset size unknown: run `kb finetune prepare` first or pass --tokens for time and cost');
  if (throughput.source === 'estimate') notes.push(`throughput is an ${throughput.detail}; a measured run replaces it`);
  notes.push('time assumes sequences packed or grouped by length (little padding)');

  const perHour = input.prices[gpu.id] ?? null;
  if (perHour == null) notes.push(`no hourly price for ${gpu.id} in finetune.planner.gpu_prices_per_hour`);
  const cost = {
    currency: input.currency,
    per_hour: perHour,
    total: perHour != null && timeHours != null ? round(perHour * timeHours, 2) : null,
    source: 'finetune.planner.gpu_prices_per_hour (config)',
  };

  return {
    model,
    gpu,
    method: input.method,
    fits,
    memory_gb: { ...breakdown, gpu: gpu.memory_gb, headroom: round(gpu.memory_gb - breakdown.total) },
    settings: { rank, micro_batch: batch, seq_len: seqLen, gradient_checkpointing: gc },
    recommended: {
      ...rec,
      rank,
      alpha: rank * 2,
      micro_batch: batch,
      gradient_accumulation: accumulation,
      effective_batch: batch * accumulation,
      gradient_checkpointing: gc,
      seq_len: seqLen,
    },
    throughput,
    dataset_tokens: input.datasetTokens,
    epochs: input.epochs,
    time_hours: timeHours,
    cost,
    notes,
  };
}

/** Table for `kb finetune plan --list`. */
export function listPresets(): { models: readonly ModelPreset[]; gpus: readonly GpuPreset[] } {
  return { models: MODEL_PRESETS, gpus: GPU_PRESETS };
}

/** Smallest power of two ≥ n (sequence length from a dataset's longest samples), at least 256. */
export function seqLenFor(maxTokens: number): number {
  let s = 256;
  while (s < maxTokens) s *= 2;
  return s;
}

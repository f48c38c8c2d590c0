import type { Method, ModelPreset } from './presets.ts';

// Hyper-parameter starting points by model size, from common LoRA/QLoRA practice (QLoRA paper,
// LLaMA-Factory and PEFT examples): larger models take a lower learning rate and a smaller
// micro-batch; the effective batch is kept at 16 through gradient accumulation.

export interface Recommendation {
  rank: number;
  alpha: number;
  dropout: number;
  target_modules: string;
  learning_rate: number;
  micro_batch: number;
  gradient_accumulation: number;
  effective_batch: number;
  epochs: number;
  lr_scheduler: string;
  warmup_ratio: number;
  precision: 'bf16' | 'fp16';
}

interface SizeBand {
  maxParamsB: number;
  rank: number;
  lr: number;
  microBatch: number;
}

const BANDS: SizeBand[] = [
  { maxParamsB: 3, rank: 16, lr: 2e-4, microBatch: 8 },
  { maxParamsB: 10, rank: 16, lr: 1e-4, microBatch: 4 },
  { maxParamsB: 20, rank: 16, lr: 1e-4, microBatch: 2 },
  { maxParamsB: Infinity, rank: 8, lr: 5e-5, microBatch: 1 },
];

export const EFFECTIVE_BATCH = 16;

export function recommend(m: ModelPreset, method: Method, bf16: boolean, epochs: number): Recommendation {
  const band = BANDS.find((b) => m.params_b <= b.maxParamsB) ?? BANDS[BANDS.length - 1];
  // QLoRA adapters train on a noisier (quantised) base: the QLoRA paper uses 2e-4 for ≤13B and 1e-4 above.
  const lr = method === 'lora' ? band.lr : m.params_b <= 13 ? 2e-4 : 1e-4;
  return {
    rank: band.rank,
    alpha: band.rank * 2,
    dropout: 0.05,
    target_modules: 'all-linear',
    learning_rate: lr,
    micro_batch: band.microBatch,
    gradient_accumulation: Math.max(1, Math.round(EFFECTIVE_BATCH / band.microBatch)),
    effective_batch: EFFECTIVE_BATCH,
    epochs,
    lr_scheduler: 'cosine',
    warmup_ratio: 0.03,
    precision: bf16 ? 'bf16' : 'fp16',
  };
}

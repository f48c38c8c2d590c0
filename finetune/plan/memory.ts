import { embeddingParams, type Method, type ModelPreset } from './presets.ts';

// Training-memory estimate for LoRA / QLoRA on a decoder-only transformer (Qwen2 layout:
// q/k/v/o attention with grouped KV heads, SwiGLU MLP). All figures are GiB (2^30 bytes), which is
// how GPUs report their memory. Each term is a closed formula so the report can show it.

const GIB = 1024 ** 3;

/** Bytes per weight of the frozen linear layers. NF4 with double quantisation stores 4 bits plus
 *  ~0.127 bits of block constants (QLoRA paper, §2); LLM.int8 stores 1 byte plus per-row scales. */
const LINEAR_WEIGHT_BYTES: Record<Method, number> = { lora: 2, 'qlora-8bit': 1.004, 'qlora-4bit': 0.5 + 0.127 / 8 };

/** Trainable LoRA parameters kept in FP32 with Adam: weight 4 + grad 4 + two moments 8 bytes. */
const BYTES_PER_TRAINABLE = 16;

/** Logits per token: BF16 logits + their FP32 upcast for the loss + the FP32 gradient. */
const LOGIT_BYTES = 10;

/** CUDA context, cuBLAS workspaces and allocator slack that no tensor accounts for. */
export const FIXED_OVERHEAD_GB = 0.5;

export interface MemorySettings {
  method: Method;
  /** LoRA rank; adapters on every linear layer of every block (q,k,v,o,gate,up,down). */
  rank: number;
  /** Micro-batch size (sequences per forward pass). */
  batch: number;
  seqLen: number;
  gradientCheckpointing: boolean;
}

export interface MemoryBreakdown {
  weights: number;
  lora_params: number;
  optimizer_and_grads: number;
  activations: number;
  logits: number;
  overhead: number;
  total: number;
  /** Trainable parameters (count, not GiB). */
  trainable_params: number;
}

/** LoRA parameters: rank × (in + out) per adapted linear layer. */
export function loraParamCount(m: ModelPreset, rank: number): number {
  const headDim = m.hidden / m.heads;
  const kv = m.kv_heads * headDim;
  const perLayer =
    2 * (m.hidden + m.hidden) + // q, o
    2 * (m.hidden + kv) + // k, v
    3 * (m.hidden + m.intermediate); // gate, up, down
  return rank * perLayer * m.layers;
}

/**
 * Activation bytes per token per layer held for backward (BF16): ≈ 28·h for the attention block,
 * norms, residuals and the LoRA dropout copies, plus 10·I for the SwiGLU intermediates (gate, up,
 * activation, product, and the down projection's dropout copy). Flash/SDPA attention is assumed,
 * so no s² score matrix is stored.
 */
export function activationBytesPerTokenPerLayer(m: ModelPreset): number {
  return 28 * m.hidden + 10 * m.intermediate;
}

export function estimateMemory(m: ModelPreset, s: MemorySettings): MemoryBreakdown {
  const emb = embeddingParams(m);
  const linear = m.params_b * 1e9 - emb;
  const weights = (linear * LINEAR_WEIGHT_BYTES[s.method] + emb * 2) / GIB;
  const trainable = loraParamCount(m, s.rank);
  const loraParams = (trainable * 4) / GIB;
  const optimizer = (trainable * (BYTES_PER_TRAINABLE - 4)) / GIB;
  const tokens = s.batch * s.seqLen;
  const perLayer = activationBytesPerTokenPerLayer(m) * tokens;
  // Checkpointing keeps only each block's input (2·h bytes/token) and recomputes one block at a time.
  const activations = (s.gradientCheckpointing ? m.layers * tokens * m.hidden * 2 + perLayer : m.layers * perLayer) / GIB;
  const logits = (tokens * m.vocab * LOGIT_BYTES) / GIB;
  const total = weights + loraParams + optimizer + activations + logits + FIXED_OVERHEAD_GB;
  return {
    weights: round(weights),
    lora_params: round(loraParams),
    optimizer_and_grads: round(optimizer),
    activations: round(activations),
    logits: round(logits),
    overhead: FIXED_OVERHEAD_GB,
    total: round(total),
    trainable_params: trainable,
  };
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

// Model and GPU presets for the fine-tune planner. Figures are the published ones:
// model shapes from each checkpoint's config.json (DeepSeek-R1-Distill-Qwen reuses the Qwen2.5
// architecture it was distilled into), GPU memory and dense (non-sparse) BF16/FP16 tensor-core
// peak throughput from the vendors' datasheets / architecture whitepapers.

export interface ModelPreset {
  id: string;
  /** Hugging Face repository of the checkpoint. */
  hf_id: string;
  /** Architecture the checkpoint uses (config.json of the distilled model). */
  architecture: string;
  /** Total parameters in billions, embeddings included. */
  params_b: number;
  layers: number;
  hidden: number;
  /** MLP intermediate size (SwiGLU gate/up width). */
  intermediate: number;
  heads: number;
  kv_heads: number;
  vocab: number;
  /** Whether input embeddings and lm_head share one matrix. */
  tied_embeddings: boolean;
  /** max_position_embeddings in config.json. */
  context_length: number;
}

export const MODEL_PRESETS: readonly ModelPreset[] = [
  {
    id: 'deepseek-r1-distill-qwen-1.5b',
    hf_id: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B',
    architecture: 'Qwen2.5-Math-1.5B',
    params_b: 1.78,
    layers: 28,
    hidden: 1536,
    intermediate: 8960,
    heads: 12,
    kv_heads: 2,
    vocab: 151936,
    tied_embeddings: false,
    context_length: 131072,
  },
  {
    id: 'deepseek-r1-distill-qwen-7b',
    hf_id: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-7B',
    architecture: 'Qwen2.5-Math-7B',
    params_b: 7.62,
    layers: 28,
    hidden: 3584,
    intermediate: 18944,
    heads: 28,
    kv_heads: 4,
    vocab: 152064,
    tied_embeddings: false,
    context_length: 131072,
  },
  {
    id: 'deepseek-r1-distill-qwen-14b',
    hf_id: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-14B',
    architecture: 'Qwen2.5-14B',
    params_b: 14.77,
    layers: 48,
    hidden: 5120,
    intermediate: 13824,
    heads: 40,
    kv_heads: 8,
    vocab: 152064,
    tied_embeddings: false,
    context_length: 131072,
  },
  {
    id: 'deepseek-r1-distill-qwen-32b',
    hf_id: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-32B',
    architecture: 'Qwen2.5-32B',
    params_b: 32.76,
    layers: 64,
    hidden: 5120,
    intermediate: 27648,
    heads: 40,
    kv_heads: 8,
    vocab: 152064,
    tied_embeddings: false,
    context_length: 131072,
  },
];

export interface GpuPreset {
  id: string;
  name: string;
  /** Memory in GiB as the card reports it. */
  memory_gb: number;
  /** Dense tensor-core peak in TFLOP/s for 16-bit inputs with FP32 accumulation. */
  tflops_16bit: number;
  /** Whether the card does BF16 (Volta does not: training falls back to FP16 mixed precision). */
  bf16: boolean;
}

export const GPU_PRESETS: readonly GpuPreset[] = [
  { id: 'rtx3060-12g', name: 'NVIDIA GeForce RTX 3060 12 GB', memory_gb: 12, tflops_16bit: 25.6, bf16: true },
  { id: 'rtx4080-16g', name: 'NVIDIA GeForce RTX 4080 16 GB', memory_gb: 16, tflops_16bit: 97.5, bf16: true },
  { id: 'rtx4090-24g', name: 'NVIDIA GeForce RTX 4090 24 GB', memory_gb: 24, tflops_16bit: 165.2, bf16: true },
  { id: 'a10-24g', name: 'NVIDIA A10 24 GB', memory_gb: 24, tflops_16bit: 125, bf16: true },
  { id: 'v100-32g', name: 'NVIDIA V100 32 GB (SXM2)', memory_gb: 32, tflops_16bit: 125, bf16: false },
  { id: 'l40-48g', name: 'NVIDIA L40 48 GB', memory_gb: 48, tflops_16bit: 181, bf16: true },
  { id: 'a100-40g', name: 'NVIDIA A100 40 GB', memory_gb: 40, tflops_16bit: 312, bf16: true },
  { id: 'a100-80g', name: 'NVIDIA A100 80 GB', memory_gb: 80, tflops_16bit: 312, bf16: true },
  { id: 'h100-80g', name: 'NVIDIA H100 80 GB (SXM)', memory_gb: 80, tflops_16bit: 989, bf16: true },
];

export const METHODS = ['lora', 'qlora-8bit', 'qlora-4bit'] as const;
export type Method = (typeof METHODS)[number];

export function findModel(id: string): ModelPreset {
  const m = MODEL_PRESETS.find((p) => p.id === id.toLowerCase());
  if (!m) throw new Error(`unknown model "${id}"; known: ${MODEL_PRESETS.map((p) => p.id).join(', ')}`);
  return m;
}

export function findGpu(id: string): GpuPreset {
  const g = GPU_PRESETS.find((p) => p.id === id.toLowerCase());
  if (!g) throw new Error(`unknown GPU "${id}"; known: ${GPU_PRESETS.map((p) => p.id).join(', ')}`);
  return g;
}

export function parseMethod(s: string): Method {
  if (!(METHODS as readonly string[]).includes(s)) throw new Error(`unknown method "${s}"; use one of ${METHODS.join(', ')}`);
  return s as Method;
}

/** Parameters of the input embedding and lm_head matrices (bitsandbytes leaves both in 16-bit). */
export function embeddingParams(m: ModelPreset): number {
  return m.vocab * m.hidden * (m.tied_embeddings ? 1 : 2);
}

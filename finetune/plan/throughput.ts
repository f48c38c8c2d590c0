import fs from 'node:fs';
import path from 'node:path';
import { embeddingParams, type GpuPreset, type Method, type ModelPreset } from './presets.ts';

// Training throughput: a measured figure from an earlier run of the same model/method/GPU when one
// was recorded, else an estimate from the GPU's peak FLOP/s × an assumed utilisation.

export interface ThroughputRecord {
  model: string;
  method: Method;
  gpu: string;
  tokens_per_second: number;
  measured_at: string;
  /** Free-form run reference (run id or output folder). */
  run?: string;
}

/** Dequantising frozen weights on every matmul slows QLoRA down (assumed factors, stated in the plan). */
export const METHOD_EFFICIENCY: Record<Method, number> = { lora: 1, 'qlora-8bit': 0.5, 'qlora-4bit': 0.75 };

/**
 * Training FLOPs per token for LoRA: forward 2N, backward through activations 2N (no weight
 * gradients for the frozen base), and another forward 2N when checkpointing recomputes blocks.
 * N counts the matmul weights (linear layers + lm_head; the embedding lookup is free), plus the
 * causal attention term 2·L·s·h per pass.
 */
export function flopsPerToken(m: ModelPreset, seqLen: number, gradientCheckpointing: boolean): number {
  const emb = embeddingParams(m);
  const lmHead = m.vocab * m.hidden;
  const n = m.params_b * 1e9 - emb + lmHead;
  const perPass = 2 * n + 2 * m.layers * seqLen * m.hidden;
  return perPass * (gradientCheckpointing ? 3 : 2);
}

export interface Throughput {
  tokens_per_second: number;
  source: 'measured' | 'estimate';
  detail: string;
}

export function estimateThroughput(
  m: ModelPreset,
  gpu: GpuPreset,
  method: Method,
  seqLen: number,
  gradientCheckpointing: boolean,
  utilization: number,
  measured: ThroughputRecord[] = [],
): Throughput {
  const match = measured
    .filter((r) => r.model === m.id && r.gpu === gpu.id && r.method === method && r.tokens_per_second > 0)
    .sort((a, b) => b.measured_at.localeCompare(a.measured_at))[0];
  if (match) {
    return {
      tokens_per_second: match.tokens_per_second,
      source: 'measured',
      detail: `measured ${match.tokens_per_second} tokens/s on ${match.measured_at}${match.run ? ` (run ${match.run})` : ''}`,
    };
  }
  const eff = METHOD_EFFICIENCY[method];
  const tps = (gpu.tflops_16bit * 1e12 * utilization * eff) / flopsPerToken(m, seqLen, gradientCheckpointing);
  return {
    tokens_per_second: Math.round(tps),
    source: 'estimate',
    detail:
      `estimate: ${gpu.tflops_16bit} TFLOP/s peak × ${utilization} assumed utilisation` +
      (eff < 1 ? ` × ${eff} assumed ${method} dequantisation efficiency` : '') +
      ` ÷ ${(flopsPerToken(m, seqLen, gradientCheckpointing) / 1e9).toFixed(1)} GFLOP/token`,
  };
}

/** Measured throughputs recorded by training runs (`recordThroughput`), oldest first. */
export function readThroughputFile(file: string): ThroughputRecord[] {
  if (!fs.existsSync(file)) return [];
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of throughput records`);
  return parsed as ThroughputRecord[];
}

/** Appends a measured throughput so later plans use it instead of the FLOP/s estimate. */
export function recordThroughput(file: string, rec: ThroughputRecord): void {
  const all = readThroughputFile(file);
  all.push(rec);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}

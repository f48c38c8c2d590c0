import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

// The run config: the contract between `kb finetune train` and finetune/train/train_lora.py.
// The Python side validates the same keys (DEFAULTS + validate_config there); keep both in step.

/** Absolute path of the trainer script. */
export const TRAINER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'train_lora.py');

const positiveInt = z.number().int().positive();

export const runConfigSchema = z
  .object({
    version: z.literal(1),
    /** Run name; also the adapter version served (e.g. company-2026h1). */
    run_name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
    /** Local model folder or Hugging Face hub id. */
    base_model: z.string().min(1),
    trust_remote_code: z.boolean(),
    data: z.object({ train: z.string().min(1), val: z.string().min(1), max_seq_len: z.number().int().min(16) }).strict(),
    /** Where checkpoints, the adapter and summary.json go (relative paths: to the config file). */
    output_dir: z.string().min(1),
    lora: z
      .object({
        r: positiveInt,
        alpha: z.number().positive(),
        dropout: z.number().min(0).lt(1),
        target_modules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]),
      })
      .strict(),
    /** none = LoRA on bf16/fp16 weights; 4bit / 8bit = QLoRA (bitsandbytes). */
    quantization: z.enum(['none', '4bit', '8bit']),
    training: z
      .object({
        epochs: z.number().positive(),
        max_steps: positiveInt.nullable(),
        per_device_batch_size: positiveInt,
        gradient_accumulation_steps: positiveInt,
        learning_rate: z.number().gt(0).lt(1),
        weight_decay: z.number().min(0),
        warmup_ratio: z.number().min(0).lt(1),
        warmup_steps: z.number().int().min(0).nullable(),
        /** cosine_with_restarts: two cosine cycles (hyper-parameter search explores it). */
        lr_scheduler: z.enum(['cosine', 'cosine_with_restarts', 'linear', 'constant']),
        max_grad_norm: z.number().positive(),
        precision: z.enum(['bf16', 'fp16', 'fp32']),
        gradient_checkpointing: z.boolean(),
        seed: z.number().int().min(0),
      })
      .strict(),
    eval: z
      .object({
        every_steps: positiveInt,
        /** Evaluations without improvement before stopping (0 = no early stopping). */
        early_stopping_patience: z.number().int().min(0),
        early_stopping_min_delta: z.number().min(0),
      })
      .strict(),
    logging: z.object({ every_steps: positiveInt }).strict(),
    checkpoint: z.object({ every_steps: positiveInt, keep_last: positiveInt }).strict(),
    /** num_processes > 1 launches the trainer with torchrun (one process per GPU, DDP). */
    distributed: z.object({ num_processes: positiveInt }).strict(),
    merge: z.object({ enabled: z.boolean(), output_dir: z.string().nullable() }).strict(),
    /** Free-form provenance (dataset folder, planner estimate, trigger); copied into run_metadata.json. */
    metadata: z.record(z.string(), z.unknown()),
  })
  .strict();

export type RunConfig = z.infer<typeof runConfigSchema>;

export const DEFAULT_RUN_CONFIG: Omit<RunConfig, 'run_name' | 'base_model' | 'data' | 'output_dir'> & {
  data: { max_seq_len: number };
} = {
  version: 1,
  trust_remote_code: false,
  data: { max_seq_len: 2048 },
  lora: { r: 16, alpha: 32, dropout: 0.05, target_modules: 'all-linear' },
  quantization: 'none',
  training: {
    epochs: 3,
    max_steps: null,
    per_device_batch_size: 1,
    gradient_accumulation_steps: 16,
    learning_rate: 2e-4,
    weight_decay: 0,
    warmup_ratio: 0.03,
    warmup_steps: null,
    lr_scheduler: 'cosine',
    max_grad_norm: 1,
    precision: 'bf16',
    gradient_checkpointing: true,
    seed: 42,
  },
  eval: { every_steps: 50, early_stopping_patience: 3, early_stopping_min_delta: 0 },
  logging: { every_steps: 10 },
  checkpoint: { every_steps: 100, keep_last: 2 },
  distributed: { num_processes: 1 },
  merge: { enabled: false, output_dir: null },
  metadata: {},
};

/**
 * What the planner (`kb finetune plan`, finetune/plan) recommends; structurally its
 * `Plan['recommended']` plus the method, so this module does not depend on the planner.
 */
export interface TrainingRecommendation {
  method?: 'lora' | 'qlora-8bit' | 'qlora-4bit';
  rank?: number;
  alpha?: number;
  dropout?: number;
  target_modules?: string | string[];
  learning_rate?: number;
  micro_batch?: number;
  gradient_accumulation?: number;
  epochs?: number;
  lr_scheduler?: string;
  warmup_ratio?: number;
  precision?: 'bf16' | 'fp16' | 'fp32';
  gradient_checkpointing?: boolean;
  seq_len?: number;
}

export interface BuildRunConfigInput {
  runName: string;
  baseModel: string;
  /** The output folder of `kb finetune prepare` (recorded in metadata.dataset_dir). */
  datasetDir: string;
  /** Chat JSONL splits (default: <datasetDir>/train.jsonl and val.jsonl). */
  trainFile?: string;
  valFile?: string;
  /** Run folder: run.json is written here; output/ holds the trainer's files. */
  runDir: string;
  recommendation?: TrainingRecommendation;
  /** Dotted-key overrides applied last, e.g. { 'training.max_steps': 200 }. */
  overrides?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

const QUANT: Record<string, RunConfig['quantization']> = { lora: 'none', 'qlora-8bit': '8bit', 'qlora-4bit': '4bit' };

/** Defaults < planner recommendation < overrides, validated. Throws naming the bad key. */
export function buildRunConfig(input: BuildRunConfigInput): RunConfig {
  const d = structuredClone(DEFAULT_RUN_CONFIG);
  const r = input.recommendation ?? {};
  const cfg: Record<string, unknown> = {
    ...d,
    run_name: input.runName,
    base_model: input.baseModel,
    data: {
      train: path.resolve(input.trainFile ?? path.join(input.datasetDir, 'train.jsonl')),
      val: path.resolve(input.valFile ?? path.join(input.datasetDir, 'val.jsonl')),
      max_seq_len: r.seq_len ?? d.data.max_seq_len,
    },
    output_dir: path.resolve(input.runDir, 'output'),
    lora: {
      r: r.rank ?? d.lora.r,
      alpha: r.alpha ?? (r.rank ? r.rank * 2 : d.lora.alpha),
      dropout: r.dropout ?? d.lora.dropout,
      target_modules: r.target_modules ?? d.lora.target_modules,
    },
    quantization: r.method ? QUANT[r.method] : d.quantization,
    training: {
      ...d.training,
      epochs: r.epochs ?? d.training.epochs,
      per_device_batch_size: r.micro_batch ?? d.training.per_device_batch_size,
      gradient_accumulation_steps: r.gradient_accumulation ?? d.training.gradient_accumulation_steps,
      learning_rate: r.learning_rate ?? d.training.learning_rate,
      lr_scheduler: r.lr_scheduler ?? d.training.lr_scheduler,
      warmup_ratio: r.warmup_ratio ?? d.training.warmup_ratio,
      precision: r.precision ?? d.training.precision,
      gradient_checkpointing: r.gradient_checkpointing ?? d.training.gradient_checkpointing,
    },
    metadata: { dataset_dir: path.resolve(input.datasetDir), ...(input.metadata ?? {}) },
  };
  for (const [key, value] of Object.entries(input.overrides ?? {})) setDotted(cfg, key, value);
  return parseRunConfig(cfg);
}

/** Validates a run config object; the error lists every bad key. */
export function parseRunConfig(value: unknown): RunConfig {
  const parsed = runConfigSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid run config:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Sets a dotted key on a nested object; the key must already exist (typos are errors). */
export function setDotted(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node: Record<string, unknown> = obj;
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    if (!(part in node) && !(node === obj.metadata)) throw new Error(`unknown run config key "${dotted}"`);
    if (last) node[part] = value;
    else {
      const next = node[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new Error(`run config key "${parts.slice(0, i + 1).join('.')}" is not an object`);
      node = next as Record<string, unknown>;
    }
  }
}

/** Parses `key=value` CLI overrides; values are JSON when they parse (numbers, booleans, null, lists). */
export function parseOverrides(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`override "${pair}" must look like key=value (e.g. training.max_steps=200)`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

export function writeRunConfig(file: string, cfg: RunConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`);
}

export function readRunConfig(file: string): RunConfig {
  return parseRunConfig(JSON.parse(fs.readFileSync(file, 'utf8')));
}

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/config/index.ts';
import type { RunConfig } from '../train/run-config.ts';

// The reproducibility record of a run (seed 004): what produced the adapter, captured when the
// run is created (code, config, data, seed, the planner's estimate) and completed from the
// trainer's summary (library/CUDA/driver/GPU versions, measured tokens/s and peak memory).
// Stored in finetune_runs.repro (migration 015); `kb finetune show` prints it, `kb finetune
// diff` compares two runs.

export interface PlannerEstimate {
  gpu: string;
  model: string;
  method: string;
  fits: boolean;
  memory_gb: number;
  tokens_per_s: number;
  /** 'measured' (an earlier run on the same model/method/GPU) or 'estimate' (FLOP model). */
  throughput_source: string;
  dataset_tokens: number | null;
  time_hours: number | null;
  cost: number | null;
  currency: string;
}

export interface ReproRecord {
  captured_at: string;
  git: { commit: string | null; dirty: boolean | null };
  node: string;
  kb_version: string | null;
  /** sha256 of the run config as given to the trainer (run.json's content). */
  config_sha256: string;
  /** Same algorithm as train_lora.py's dataset_hash, computed before training starts. */
  data_hash: string | null;
  seed: number;
  planner: PlannerEstimate | null;
  /** From the trainer's summary once the run succeeded. */
  measured: {
    tokens_per_s: number | null;
    peak_memory_gb: number | null;
    runtime_s: number | null;
    tokens_trained: number | null;
    dataset_hash: string | null;
    /** python, torch, transformers, peft, accelerate, cuda, cudnn, driver, gpus, platform. */
    environment: Record<string, unknown> | null;
  } | null;
}

/** The commit the code was at, and whether the tree had uncommitted changes (null: not a git checkout). */
export function gitState(cwd = projectRoot): ReproRecord['git'] {
  try {
    const opts = { cwd, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 10_000 };
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** sha256 over each file's base name and bytes, in order: train_lora.py's dataset_hash exactly. */
export function datasetHash(files: string[]): string | null {
  const h = createHash('sha256');
  for (const f of files) {
    if (!fs.existsSync(f)) return null;
    h.update(path.basename(f));
    h.update(fs.readFileSync(f));
  }
  return `sha256:${h.digest('hex')}`;
}

function kbVersion(): string | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

export function captureRepro(config: RunConfig, planner: PlannerEstimate | null, now = new Date()): ReproRecord {
  return {
    captured_at: now.toISOString(),
    git: gitState(),
    node: process.version,
    kb_version: kbVersion(),
    config_sha256: `sha256:${createHash('sha256').update(JSON.stringify(config)).digest('hex')}`,
    data_hash: datasetHash([config.data.train, config.data.val]),
    seed: config.training.seed,
    planner,
    measured: null,
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Completes the record with what the trainer measured (its summary event). */
export function withMeasured(repro: ReproRecord, summary: Record<string, unknown>): ReproRecord {
  const versions = summary.versions;
  return {
    ...repro,
    measured: {
      tokens_per_s: num(summary.tokens_per_s),
      peak_memory_gb: num(summary.peak_memory_gb),
      runtime_s: num(summary.runtime_s),
      tokens_trained: num(summary.tokens_trained),
      dataset_hash: typeof summary.dataset_hash === 'string' ? summary.dataset_hash : null,
      environment: versions && typeof versions === 'object' ? (versions as Record<string, unknown>) : null,
    },
  };
}

/** Plain key → value pairs ("training.learning_rate" → 0.0002); arrays stay whole values. */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length && prefix) out[prefix] = {};
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = value;
  return out;
}

export interface DiffLine {
  key: string;
  a: unknown;
  b: unknown;
}

/** The keys whose values differ between two flattened records (missing on one side = undefined). */
export function diffRecords(a: Record<string, unknown>, b: Record<string, unknown>, ignore: RegExp[] = []): DiffLine[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  return keys
    .filter((k) => !ignore.some((re) => re.test(k)))
    .filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k]))
    .map((k) => ({ key: k, a: fa[k], b: fb[k] }));
}

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';

// The hyper-parameter search space (`kb finetune search`), handed to finetune/train/search.py,
// which maps each parameter onto the run config (apply_params there) and validates it again.

/** Absolute path of the search driver (an Optuna study around train_lora.py). */
export const SEARCH_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'train', 'search.py');

export const PARAM_NAMES = [
  'learning_rate',
  'lora_r',
  'lora_alpha_ratio',
  'lora_dropout',
  'target_modules',
  'effective_batch',
  'per_device_batch_size',
  'epochs',
  'warmup_ratio',
  'lr_scheduler',
  'weight_decay',
] as const;

const range = z.object({ low: z.number(), high: z.number(), log: z.boolean().optional(), grid: z.array(z.number()).min(1).optional() });
const param = z.discriminatedUnion('type', [
  range.extend({ type: z.literal('float') }).strict(),
  range.extend({ type: z.literal('int') }).strict(),
  z.object({ type: z.literal('categorical'), choices: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) }).strict(),
]);
export const searchSpaceSchema = z
  .object({ params: z.partialRecord(z.enum(PARAM_NAMES), param).refine((p) => Object.keys(p).length > 0, 'at least one parameter') })
  .strict()
  .superRefine((s, ctx) => {
    for (const [name, p] of Object.entries(s.params)) {
      if (p.type !== 'categorical' && !(p.low < p.high)) ctx.addIssue({ code: 'custom', path: ['params', name], message: 'low < high' });
      if (p.type !== 'categorical' && p.log && p.low <= 0) ctx.addIssue({ code: 'custom', path: ['params', name], message: 'log scale needs low > 0' });
    }
  });
export type SearchSpace = z.infer<typeof searchSpaceSchema>;

/**
 * What seed 004 names: learning rate on a log scale, LoRA rank / alpha (as a multiple of the
 * rank) / dropout, the target-module preset, the effective batch, epochs, warmup and the
 * scheduler. Ranges are the ones LoRA papers and PEFT defaults make plausible for 1.5–14B models.
 */
export const DEFAULT_SPACE: SearchSpace = {
  params: {
    learning_rate: { type: 'float', low: 2e-5, high: 1e-3, log: true },
    lora_r: { type: 'categorical', choices: [8, 16, 32, 64] },
    lora_alpha_ratio: { type: 'categorical', choices: [1, 2] },
    lora_dropout: { type: 'float', low: 0, high: 0.1 },
    target_modules: { type: 'categorical', choices: ['attention', 'all-linear'] },
    effective_batch: { type: 'categorical', choices: [8, 16, 32] },
    epochs: { type: 'categorical', choices: [1, 2, 3] },
    warmup_ratio: { type: 'float', low: 0, high: 0.1 },
    lr_scheduler: { type: 'categorical', choices: ['cosine', 'cosine_with_restarts', 'linear'] },
  },
};

/** Reads a space from a JSON or YAML file; the error names the file and the bad keys. */
export function loadSpace(file: string): SearchSpace {
  let raw: unknown;
  try {
    const text = fs.readFileSync(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: cannot read the search space: ${(e as Error).message}`);
  }
  const parsed = searchSpaceSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: invalid search space:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  return parsed.data;
}

/** The largest effective batch a trial can use (bounds the budget estimate). */
export function maxEffectiveBatch(space: SearchSpace, perDevice: number, accumulation: number): number {
  const p = space.params.effective_batch;
  if (!p) return perDevice * accumulation;
  return p.type === 'categorical' ? Math.max(...p.choices.map(Number)) : p.high;
}

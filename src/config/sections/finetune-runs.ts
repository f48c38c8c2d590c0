import { z } from 'zod';
import { cronExpression, regexPattern } from './common.ts';

// `finetune_runs:` section — LoRA training runs, evaluation, adapter deployment and the
// semiannual job (`kb finetune train|resume|eval|deploy|rollback|schedule`). See
// config/default.yaml for every key. (The `finetune:` section holds prepare + planner settings.)


export const finetuneRunsSchema = z
  .object({
    runs_dir: z.string().min(1),
    python: z.string().min(1),
    base_model_path: z.string(),
    gpu: z.string(),
    method: z.enum(['lora', 'qlora-8bit', 'qlora-4bit']),
    version_prefix: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
    assistant: z.string().min(1),
    eval: z
      .object({
        max_samples: z.number().int().nonnegative(),
        concurrency: z.number().int().min(1).max(64),
        max_tokens: z.number().int().min(16),
        top_k: z.number().int().min(1).nullable(),
        refusal_patterns: z.array(regexPattern),
      })
      .strict(),
    deploy: z.object({ min_improvement: z.number().min(0).max(1) }).strict(),
    schedule: z
      .object({
        cron: cronExpression,
        timezone: z.string(),
        lock_ttl_seconds: z.number().int().min(30),
        wait_for_ingest_minutes: z.number().int().min(0),
        auto_deploy: z.boolean(),
      })
      .strict(),
  })
  .strict();

export type FinetuneRunsConfig = z.infer<typeof finetuneRunsSchema>;

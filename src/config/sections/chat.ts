import { z } from 'zod';
import { httpUrl } from './common.ts';

// `upstreams:`, `assistants:` and `chat:` sections — the chat API's models and behaviour
// (see config/default.yaml for the meaning of each key).

export const upstreamSchema = z
  .object({
    base_url: httpUrl,
    api_key: z.string().default(''),
    timeout_ms: z.number().int().positive().default(60000),
    max_retries: z.number().int().min(0).max(5).default(1),
  })
  .strict();
export type UpstreamConfig = z.infer<typeof upstreamSchema>;

export const upstreamsSchema = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'), upstreamSchema).default({});

export const assistantSchema = z
  .object({
    /** Name of an entry in `upstreams`; empty = no generator (extractive answers). */
    upstream: z.string().default(''),
    /** Base model name at the upstream. */
    model: z.string().default(''),
    /** LoRA adapter model name at the upstream (tried first); empty = none. */
    adapter: z.string().default(''),
    description: z.string().default(''),
    context_tokens: z.number().int().min(256).default(4096),
    answer_tokens: z.number().int().min(16).default(1024),
    system_prompt: z.string().default(''),
    instructions_in: z.enum(['system', 'user']).default('system'),
    think_starts_open: z.boolean().default(false),
  })
  .strict()
  .refine((a) => a.answer_tokens < a.context_tokens, { message: 'must be < context_tokens', path: ['answer_tokens'] })
  .refine((a) => a.upstream === '' || a.model !== '', { message: 'required when upstream is set', path: ['model'] });
export type AssistantConfig = z.infer<typeof assistantSchema>;

export const assistantsSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only'), assistantSchema)
  .refine((a) => Object.keys(a).length > 0, { message: 'at least one assistant is required' });

export const chatSchema = z
  .object({
    reasoning: z.enum(['separate', 'drop']),
    rewrite_followups: z.boolean(),
    snippet_chars: z.number().int().min(40),
    on_upstream_error: z.enum(['extractive', 'error']),
    extractive_passages: z.number().int().min(1).max(20),
    adapter_retry_ms: z.number().int().nonnegative(),
    shutdown_timeout_ms: z.number().int().positive(),
  })
  .strict();
export type ChatConfig = z.infer<typeof chatSchema>;

import { z } from 'zod';
import { cronExpression, httpUrl, regexPattern } from './sections/common.ts';
import { retrievalSchema } from './sections/retrieval.ts';
import { coreSchema } from './sections/core.ts';
import { finetuneSchema } from './sections/finetune.ts';
import { finetuneRunsSchema } from './sections/finetune-runs.ts';
import { upstreamsSchema, assistantsSchema, chatSchema } from './sections/chat.ts';
import { authSchema } from './sections/auth.ts';
import { filesSchema } from './sections/files.ts';
import { GROUP_NAME_RE, GROUP_NAME_RULE } from '../auth/groups.ts';
import { storeSchema } from './sections/store.ts';
import { limitsSchema } from './sections/limits.ts';
import { uploadsSchema } from './sections/uploads.ts';
import { snapshotSchema } from './sections/snapshot.ts';

// One zod schema per section of config/default.yaml. Sections added by later features live in
// their own files and are composed here, so the whole app runs from one validated object.

const mappingSchema = z
  .object({
    id: z.string().optional(),
    kind: z.string().optional(),
    title: z.string().optional(),
    body: z.string().optional(),
    url: z.string().optional(),
    author: z.string().optional(),
    published_at: z.string().optional(),
    tags: z.string().optional(),
    acl_groups: z.string().optional(),
  })
  .strict();

export const documentKinds = ['news', 'comment', 'post'] as const;
export type DocumentKind = (typeof documentKinds)[number];

export const sourceSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
    type: z.enum(['jsonl', 'csv', 'json', 'folder']),
    path: z.string().min(1),
    mode: z.enum(['full', 'append']).default('full'),
    kind: z.enum(documentKinds).default('news'),
    mapping: mappingSchema.default({}),
    // Default groups for records that state none; a record's own groups replace these.
    acl_groups: z.array(z.string().regex(GROUP_NAME_RE, `an ACL group name (${GROUP_NAME_RULE})`)).default([]),
  })
  .strict();
export type SourceConfig = z.infer<typeof sourceSchema>;


export const configSchema = z
  .object({
    data_dir: z.string().min(1),
    sources: z.array(sourceSchema).default([]).superRefine((sources, ctx) => {
      const seen = new Set<string>();
      sources.forEach((s, i) => {
        if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate source name "${s.name}"` });
        seen.add(s.name);
      });
    }),
    demo: z.object({ enabled: z.boolean(), docs: z.number().int().positive(), seed: z.number().int() }).strict(),
    ingest: z
      .object({
        schedule: cronExpression,
        timezone: z.string(),
        lock_ttl_seconds: z.number().int().positive(),
        batch_size: z.number().int().positive(),
        max_delete_ratio: z.number().gt(0).lte(1),
      })
      .strict(),
    cleaning: z
      .object({
        min_chars: z.number().int().nonnegative(),
        max_chars: z.number().int().positive(),
        boilerplate_patterns: z.array(regexPattern),
      })
      .strict(),
    dedupe: z
      .object({
        near_duplicates: z.boolean(),
        shingle_size: z.number().int().min(1).max(32),
        num_perm: z.number().int().min(16).max(1024),
        bands: z.number().int().positive(),
        threshold: z.number().gt(0).lte(1),
      })
      .strict()
      .refine((d) => d.num_perm % d.bands === 0, { message: 'num_perm must be a multiple of bands', path: ['bands'] }),
    chunking: z
      .object({
        target_tokens: z.number().int().min(16),
        max_tokens: z.number().int().min(16),
        overlap_tokens: z.number().int().nonnegative(),
        title_prefix: z.boolean(),
      })
      .strict()
      .refine((c) => c.max_tokens >= c.target_tokens, { message: 'must be ≥ target_tokens', path: ['max_tokens'] })
      .refine((c) => c.overlap_tokens < c.target_tokens, { message: 'must be < target_tokens', path: ['overlap_tokens'] }),
    embedding: z
      .object({
        provider: z.enum(['local', 'openai']),
        model: z.string().min(1),
        allow_remote: z.boolean(),
        dtype: z.enum(['q8', 'fp32', 'fp16', 'q4', 'int8', 'uint8', 'bnb4', 'q4f16']),
        pooling: z.enum(['mean', 'cls', 'none']),
        normalize: z.boolean(),
        query_prefix: z.string(),
        passage_prefix: z.string(),
        batch_size: z.number().int().positive(),
        max_tokens: z.number().int().positive(),
        openai: z
          .object({
            base_url: httpUrl,
            api_key: z.string(),
            dimensions: z.number().int().nonnegative(),
            timeout_ms: z.number().int().positive(),
          })
          .strict(),
      })
      .strict(),
    index: z
      .object({
        m: z.number().int().min(2).max(128),
        ef_construction: z.number().int().positive(),
        ef_search: z.number().int().positive(),
        keep_versions: z.number().int().min(1),
        reload_interval_ms: z.number().int().positive(),
      })
      .strict(),
    server: z
      .object({ port: z.number().int().min(0).max(65535), host: z.string(), ingest_on_first_start: z.boolean(), scheduler: z.boolean() })
      .strict(),
    log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), format: z.enum(['auto', 'json', 'pretty']).default('auto') }).strict(),
    retrieval: retrievalSchema,
    core: coreSchema,
    finetune: finetuneSchema,
    finetune_runs: finetuneRunsSchema,
    upstreams: upstreamsSchema,
    assistants: assistantsSchema,
    chat: chatSchema,
    auth: authSchema,
    files: filesSchema,
    store: storeSchema,
    limits: limitsSchema,
    uploads: uploadsSchema,
    snapshot: snapshotSchema,
  })
  // Strict at every level: a misspelt key is an error naming it, never silently ignored.
  .strict();

export type Config = z.infer<typeof configSchema>;

import { z } from 'zod';

// `rerank:` section — the optional cross-encoder stage after fusion (see config/default.yaml).
export const rerankSchema = z
  .object({
    provider: z.enum(['none', 'local', 'http']),
    head: z.number().int().positive().max(200),
    timeout_ms: z.number().int().positive(),
    local: z
      .object({
        model: z.string().min(1),
        dtype: z.enum(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4']),
        allow_remote: z.boolean(),
        max_length: z.number().int().positive(),
        batch_size: z.number().int().positive(),
      })
      .strict(),
    http: z
      .object({
        url: z.string(),
        api: z.enum(['tei', 'cohere']),
        model: z.string(),
        api_key: z.string(),
      })
      .strict(),
  })
  .strict()
  .refine((r) => r.provider !== 'http' || /^https?:\/\//.test(r.http.url), { message: 'must be an http(s) URL when provider is http', path: ['http', 'url'] });

export type RerankConfig = z.infer<typeof rerankSchema>;

/** The stage is off: what a config without a `rerank:` section means. */
export const RERANK_OFF: RerankConfig = {
  provider: 'none',
  head: 20,
  timeout_ms: 2000,
  local: { model: 'Xenova/bge-reranker-base', dtype: 'q8', allow_remote: false, max_length: 512, batch_size: 8 },
  http: { url: '', api: 'tei', model: '', api_key: '' },
};

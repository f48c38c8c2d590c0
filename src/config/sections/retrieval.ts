import { z } from 'zod';

// `retrieval:` section — hybrid search knobs (see config/default.yaml for the meaning of each key).
// Document kinds are spelled out here instead of imported from ../schema.ts, because schema.ts
// imports this file and a cycle would leave the import undefined while this module evaluates.
const kinds = z.enum(['news', 'comment', 'post']);

export const retrievalSchema = z
  .object({
    top_k: z.number().int().positive(),
    candidates: z.number().int().positive(),
    rrf_k: z.number().positive(),
    weights: z.object({ dense: z.number().nonnegative(), bm25: z.number().nonnegative() }).strict(),
    // Optional so that older configs and test helpers stay valid; hybrid.ts applies the
    // documented defaults (FUSION_DEFAULTS in src/retrieval/hybrid.ts).
    fusion: z.enum(['rrf', 'convex']).optional(),
    convex: z.object({ alpha: z.number().min(0).max(1) }).strict().optional(),
    recency: z
      .object({
        enabled: z.boolean(),
        kinds: z.array(kinds),
        half_life_days: z.number().positive(),
        weight: z.number().min(0).max(1),
        // Optional so that older configs and test helpers stay valid; hybrid.ts applies the
        // documented default ('time_sensitive').
        apply: z.enum(['time_sensitive', 'always']).optional(),
      })
      .strict(),
    mmr: z.object({ enabled: z.boolean(), lambda: z.number().min(0).max(1), min_similarity: z.number().min(0).max(1).optional() }).strict(),
    exact_match: z.object({ enabled: z.boolean(), min_phrase_chars: z.number().int().positive() }).strict().optional(),
    max_chunks_per_doc: z.number().int().nonnegative(),
    bm25: z
      .object({
        max_query_terms: z.number().int().nonnegative(),
        max_term_doc_ratio: z.number().gt(0).lte(1),
        min_docs_to_drop: z.number().int().nonnegative(),
        max_postings: z.number().int().nonnegative(),
        // BM25 parameters of the engine (src/bm25/scoring.ts). Optional so that configs and test
        // helpers written before they existed stay valid: absent = FTS5's 1.2 / 0.75 (bm25ParamsOf).
        k1: z.number().min(0).max(10).optional(),
        b: z.number().min(0).max(1).optional(),
      })
      .strict(),
    query_cache_size: z.number().int().nonnegative(),
    exact_search: z
      .object({
        max_fraction: z.number().min(0).max(1),
        max_chunks: z.number().int().nonnegative(),
      })
      .strict(),
  })
  .strict()
  .refine((r) => r.candidates >= r.top_k, { message: 'must be ≥ top_k', path: ['candidates'] });

export type RetrievalConfig = z.infer<typeof retrievalSchema>;

import { z } from 'zod';

// `limits:` section — bounds on the work one API request may cause, checked before any text
// analysis (see config/default.yaml). A request over a limit gets a 400 naming it.

export const limitsSchema = z
  .object({
    /** Characters of a /v1/retrieve query (and of the retrieval query chat derives from the conversation). */
    max_query_chars: z.number().int().min(16).max(1_000_000),
    /** Analysed terms of one query that retrieval looks at (the rest of a very long query is ignored). */
    max_query_terms: z.number().int().min(1).max(100_000),
    /** Characters of one chat message's text. */
    max_message_chars: z.number().int().min(16).max(10_000_000),
    /** Characters across all messages of one chat request. */
    max_total_chars: z.number().int().min(16).max(100_000_000),
    /** Messages in one chat request. */
    max_messages: z.number().int().min(1).max(100_000),
  })
  .strict()
  .refine((l) => l.max_total_chars >= l.max_message_chars, { message: 'must be ≥ max_message_chars', path: ['max_total_chars'] });
export type LimitsConfig = z.infer<typeof limitsSchema>;

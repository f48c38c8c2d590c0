import { z } from 'zod';
import type { Usage } from './chat-model.ts';

// What an OpenAI-compatible server must send back, checked before any of it is trusted. A
// reply that fails these checks is a malformed upstream answer (UpstreamError 'malformed'), not
// an empty success: a proxy's HTML error page, `{}` or a truncated stream must not become
// "200 generated" with no content.

const text = z.string().nullable().optional();

const completionSchema = z
  .object({
    choices: z
      .array(
        z
          .object({
            message: z.object({ content: text, reasoning_content: text, reasoning: text }).passthrough(),
            finish_reason: z.string().nullable().optional(),
          })
          .passthrough(),
      )
      .min(1, 'no choices'),
    model: z.unknown().optional(),
    usage: z.unknown().optional(),
  })
  .passthrough();
export type UpstreamCompletion = z.infer<typeof completionSchema>;

const chunkSchema = z
  .object({
    // The final usage chunk of `stream_options.include_usage` has `choices: []`.
    choices: z.array(
      z
        .object({
          delta: z.object({ content: text, reasoning_content: text, reasoning: text }).passthrough().nullable().optional(),
          finish_reason: z.string().nullable().optional(),
        })
        .passthrough(),
    ),
    usage: z.unknown().optional(),
  })
  .passthrough();
export type UpstreamChunk = z.infer<typeof chunkSchema>;

const usageSchema = z
  .object({ prompt_tokens: z.number().int().nonnegative().finite(), completion_tokens: z.number().int().nonnegative().finite() })
  .passthrough();

/** Short description of a zod failure: "choices.0.message: expected object, received undefined". */
function describe(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  return `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`;
}

function kindOf(v: unknown): string {
  if (typeof v === 'string') return `text (${JSON.stringify(v.slice(0, 60))}${v.length > 60 ? '…' : ''})`;
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A non-streaming response body (already JSON-parsed by the client, or the raw text when it was not JSON). */
export function checkCompletion(body: unknown): Checked<UpstreamCompletion> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: `expected a JSON object, got ${kindOf(body)}` };
  const parsed = completionSchema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: describe(parsed.error) };
}

/** One streamed chunk. */
export function checkChunk(chunk: unknown): Checked<UpstreamChunk> {
  if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) return { ok: false, reason: `expected a JSON object chunk, got ${kindOf(chunk)}` };
  const parsed = chunkSchema.safeParse(chunk);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: `chunk ${describe(parsed.error)}` };
}

/**
 * Token usage, when reported. Invalid usage (non-numeric, negative) does not fail the answer —
 * the text is fine — but is dropped (the server then estimates) and reported as `problem`.
 */
export function checkUsage(usage: unknown): { usage: Usage | null; problem?: string } {
  if (usage === undefined || usage === null) return { usage: null };
  const parsed = usageSchema.safeParse(usage);
  if (!parsed.success) return { usage: null, problem: `invalid usage: ${describe(parsed.error)}` };
  return { usage: { promptTokens: parsed.data.prompt_tokens, completionTokens: parsed.data.completion_tokens } };
}

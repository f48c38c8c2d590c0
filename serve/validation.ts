import { z } from 'zod';
import { documentKinds } from '../src/config/index.ts';
import { parseBound } from '../src/retrieval/filters.ts';
import type { SearchFilters } from '../src/retrieval/types.ts';
import { HttpError, validationError } from './errors.ts';

const isoDate = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date or date-time');

export const filtersSchema = z
  .object({
    kinds: z.array(z.enum(documentKinds)).max(10).optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    tags: z.array(z.string().min(1).max(200)).max(100).optional(),
    sources: z.array(z.string().min(1).max(200)).max(100).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    // The retriever's own rule (a date-only `to` is the end of that day), so schema and search agree.
    if (!f.from || !f.to) return;
    let from: number, to: number;
    try {
      from = parseBound(f.from, 'from');
      to = parseBound(f.to, 'to');
    } catch {
      return; // the field checks above report an invalid date
    }
    if (from > to) ctx.addIssue({ code: 'custom', path: ['from'], message: `${f.from} is after filters.to (${f.to}): the date range is empty` });
  });

export const modeSchema = z.enum(['hybrid', 'dense', 'bm25']);

export function toFilters(f: z.infer<typeof filtersSchema> | undefined): SearchFilters | undefined {
  if (!f) return undefined;
  const out: SearchFilters = {};
  if (f.kinds?.length) out.kinds = f.kinds;
  if (f.from) out.from = f.from;
  if (f.to) out.to = f.to;
  if (f.tags?.length) out.tags = f.tags;
  if (f.sources?.length) out.sources = f.sources;
  return Object.keys(out).length ? out : undefined;
}

/** Validates a JSON body; a missing or non-object body gets its own clear message. */
export function parseBody<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'The request body must be a JSON object (Content-Type: application/json).', 'invalid_request_error', 'invalid_body');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationError(withValidKeys(parsed.error, schema));
  return parsed.data;
}

/** The keys an object schema accepts at `path` of `schema` (through optional/nullable/default/array wrappers). */
export function validKeysAt(schema: z.ZodTypeAny, path: readonly PropertyKey[]): string[] | null {
  let cur: unknown = schema;
  const unwrap = () => {
    for (;;) {
      const def = (cur as { def?: { type?: string; innerType?: unknown; element?: unknown } }).def;
      if (def && (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault') && def.innerType) cur = def.innerType;
      else break;
    }
  };
  unwrap();
  for (const part of path) {
    const def = (cur as { def?: { type?: string; element?: unknown } }).def;
    if (def?.type === 'array' && typeof part === 'number') cur = def.element;
    else if (cur instanceof z.ZodObject && typeof part === 'string' && part in cur.shape) cur = cur.shape[part];
    else return null;
    unwrap();
  }
  return cur instanceof z.ZodObject ? Object.keys(cur.shape) : null;
}

/** "Unrecognized key: kind" becomes "… kind; valid keys: kinds, from, to, tags, sources". */
function withValidKeys(err: z.ZodError, schema: z.ZodTypeAny): z.ZodError {
  for (const issue of err.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const keys = validKeysAt(schema, issue.path);
    // Issues are plain objects; zod types their message read-only only to discourage edits.
    if (keys) (issue as { message: string }).message = `${issue.message}; valid keys: ${keys.join(', ')}`;
  }
  return err;
}

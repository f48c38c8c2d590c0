import type { LimitsConfig } from '../config/sections/limits.ts';

/**
 * The retrieval query chat derives from a conversation, cut to max_query_chars. The end is kept:
 * a follow-up rewritten by prepending the previous question ends with the current one, and a
 * long pasted message usually ends with what is asked about it.
 */
export function clipQuery(query: string, limits: LimitsConfig): string {
  if (query.length <= limits.max_query_chars) return query;
  let start = query.length - limits.max_query_chars;
  // Do not start on the low half of a surrogate pair.
  if (/[\udc00-\udfff]/.test(query[start]!)) start++;
  return query.slice(start);
}

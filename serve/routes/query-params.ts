import { HttpError } from '../errors.ts';

// Query-string parameters of GET routes, validated into 400s that name the parameter.

const bad = (param: string, msg: string) => new HttpError(400, `${param}: ${msg}`, 'invalid_request_error', 'invalid_request', param);

export function intParam(v: unknown, param: string, fallback: number, min: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min || n > max) throw bad(param, `must be an integer from ${min} to ${max}`);
  return n;
}

export function optIntParam(v: unknown, param: string, min = 1): number | undefined {
  if (v === undefined || v === '') return undefined;
  return intParam(v, param, 0, min, Number.MAX_SAFE_INTEGER);
}

export function strParam(v: unknown, param: string, maxLen = 500): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw bad(param, 'must be given once, as text');
  if (v.length > maxLen) throw bad(param, `at most ${maxLen} characters`);
  return v;
}

/** "1,2,3" (or repeated) → ["1","2","3"]. */
export function listParam(v: unknown, param: string, maxItems = 100): string[] {
  if (v === undefined || v === '') return [];
  const items = (Array.isArray(v) ? v : [v]).flatMap((x) => {
    if (typeof x !== 'string') throw bad(param, 'must be a comma-separated list');
    return x.split(',').map((s) => s.trim()).filter(Boolean);
  });
  if (items.length > maxItems) throw bad(param, `at most ${maxItems} items`);
  return items;
}

import { z } from 'zod';

// Value schemas shared by several config sections.

/** A cron expression for node-cron: 5 fields, or 6 with seconds. */
export const cronExpression = z.string().refine((s) => [5, 6].includes(s.trim().split(/\s+/).length), {
  message: 'must be a cron expression with 5 or 6 fields',
});

/** A regular expression source, compiled case-insensitively where it is used. */
export const regexPattern = z.string().refine((p) => {
  try {
    new RegExp(p, 'i');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

/**
 * An http(s) URL with a host, e.g. "http://127.0.0.1:8000/v1". z.string().url() alone accepts
 * "localhost:18490/v1" (read as scheme "localhost:"), which then fails at the first request.
 */
export const httpUrl = z.string().superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an http(s) URL such as "http://127.0.0.1:8000/v1", got ${JSON.stringify(s)}` });
    return;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) {
    const hint = /^[\w.-]+:\d+/.test(s) ? ` (missing the scheme: "http://${s}"?)` : '';
    ctx.addIssue({ code: 'custom', message: `must be an http(s) URL such as "http://127.0.0.1:8000/v1", got ${JSON.stringify(s)}${hint}` });
  }
});

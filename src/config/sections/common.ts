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

import type { RequestHandler } from 'express';
import { HttpError } from '../errors.ts';
import { state } from '../state.ts';

export interface RateLimitOptions {
  requestsPerMinute: number;
  burst: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 10_000;

/**
 * Token bucket per API key (per client address when auth is off): `burst` requests at once,
 * refilled at requests_per_minute. Headers follow OpenAI's: Limit is the bucket's capacity (what
 * Remaining counts down from), Reset the time until it is full again.
 */
export function rateLimit(opts: RateLimitOptions): RequestHandler {
  const buckets = new Map<string, Bucket>();
  const perMs = opts.requestsPerMinute / 60_000;
  const now = opts.now ?? Date.now;
  return (req, res, next) => {
    const s = state(res);
    const id = s.key ? `key:${s.key.id}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`;
    const t = now();
    let b = buckets.get(id);
    if (!b) {
      if (buckets.size >= MAX_BUCKETS) {
        // Forget buckets that have refilled completely: they hold no information.
        for (const [k, v] of buckets) if (v.tokens + (t - v.at) * perMs >= opts.burst) buckets.delete(k);
      }
      b = { tokens: opts.burst, at: t };
      buckets.set(id, b);
    }
    b.tokens = Math.min(opts.burst, b.tokens + (t - b.at) * perMs);
    b.at = t;
    res.setHeader('X-RateLimit-Limit-Requests', String(opts.burst));
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
      res.setHeader('X-RateLimit-Remaining-Requests', '0');
      return next(
        new HttpError(429, `Rate limit reached: ${opts.requestsPerMinute} requests per minute (burst ${opts.burst}). Retry after ${retryAfter} s.`, 'rate_limit_error', 'rate_limit_exceeded', null, {
          'Retry-After': String(retryAfter),
        }),
      );
    }
    b.tokens -= 1;
    res.setHeader('X-RateLimit-Remaining-Requests', String(Math.floor(b.tokens)));
    res.setHeader('X-RateLimit-Reset-Requests', `${Math.ceil((opts.burst - b.tokens) / perMs / 1000)}s`);
    next();
  };
}

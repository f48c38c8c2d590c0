import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../errors.ts';
import { rateLimit } from './rate-limit.ts';

function call(mw: ReturnType<typeof rateLimit>, keyId: number | null, ip = '10.0.0.1'): HttpError | null {
  const headers: Record<string, string> = {};
  const res = { locals: { kb: { key: keyId === null ? null : { id: keyId } } }, setHeader: (k: string, v: string) => (headers[k] = v) } as unknown as Response;
  const req = { socket: { remoteAddress: ip } } as unknown as Request;
  let out: HttpError | null = null;
  mw(req, res, ((err?: unknown) => {
    out = (err as HttpError) ?? null;
  }) as NextFunction);
  return out;
}

describe('rateLimit', () => {
  it('allows a burst, then refills at the per-minute rate, per key', () => {
    let now = 0;
    const mw = rateLimit({ requestsPerMinute: 60, burst: 3, now: () => now });
    expect([call(mw, 1), call(mw, 1), call(mw, 1)]).toEqual([null, null, null]);
    const err = call(mw, 1)!;
    expect(err.status).toBe(429);
    expect(err.headers['Retry-After']).toBe('1');
    expect(call(mw, 2)).toBeNull(); // other key, own bucket
    now += 1000; // one request per second refills
    expect(call(mw, 1)).toBeNull();
    expect(call(mw, 1)?.status).toBe(429);
  });

  it('limits by client address when auth is off', () => {
    const mw = rateLimit({ requestsPerMinute: 1, burst: 1, now: () => 0 });
    expect(call(mw, null, 'a')).toBeNull();
    expect(call(mw, null, 'a')?.status).toBe(429);
    expect(call(mw, null, 'b')).toBeNull();
  });
});

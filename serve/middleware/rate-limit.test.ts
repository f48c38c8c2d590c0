import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../errors.ts';
import { rateLimit } from './rate-limit.ts';

function call(mw: ReturnType<typeof rateLimit>, keyId: number | null, ip = '10.0.0.1', headers: Record<string, string> = {}): HttpError | null {
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

  it('reports the bucket it counts down: Limit is the burst that Remaining starts from', () => {
    let now = 0;
    const mw = rateLimit({ requestsPerMinute: 120, burst: 30, now: () => now });
    const h: Record<string, string> = {};
    call(mw, 7, undefined, h);
    expect(h).toMatchObject({ 'X-RateLimit-Limit-Requests': '30', 'X-RateLimit-Remaining-Requests': '29', 'X-RateLimit-Reset-Requests': '1s' });
    for (let i = 0; i < 9; i++) call(mw, 7, undefined, h);
    // 10 used, refilled at 2 per second: full again in 5 s.
    expect(h).toMatchObject({ 'X-RateLimit-Remaining-Requests': '20', 'X-RateLimit-Reset-Requests': '5s' });
    now += 60_000;
    call(mw, 7, undefined, h);
    expect(h['X-RateLimit-Remaining-Requests']).toBe('29');
  });
});

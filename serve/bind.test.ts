import { describe, expect, it } from 'vitest';
import { BindError, isLoopbackHost, resolveBindHost } from './bind.ts';

describe('bind host', () => {
  it('recognises loopback addresses only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', 'api.localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', '']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('with auth off: loopback by default, a loopback host as asked, anything else is an error', () => {
    expect(resolveBindHost('off', '')).toBe('127.0.0.1');
    expect(resolveBindHost('off', undefined)).toBe('127.0.0.1');
    expect(resolveBindHost('off', '::1')).toBe('::1');
    for (const h of ['0.0.0.0', '::', '10.1.2.3', 'kb.internal']) {
      expect(() => resolveBindHost('off', h)).toThrowError(BindError);
      expect(() => resolveBindHost('off', h)).toThrowError(/auth\.mode is off.*loopback/);
    }
  });

  it('with auth required: any interface, all of them by default', () => {
    expect(resolveBindHost('required', '')).toBe('0.0.0.0');
    expect(resolveBindHost('required', '10.1.2.3')).toBe('10.1.2.3');
    expect(resolveBindHost('required', '127.0.0.1')).toBe('127.0.0.1');
  });
});

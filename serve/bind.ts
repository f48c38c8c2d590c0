import net from 'node:net';
import type { AuthMode } from '../src/config/sections/auth.ts';

// Where the server may listen is decided by the configured auth mode alone: with auth off every
// /v1 route (admin included) is open, so only this machine may reach it.

export class BindError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BindError';
  }
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped ? mapped[1].startsWith('127.') : false;
  }
  return false;
}

/**
 * The interface to bind. `requested` is --host or server.host ("" = the mode's default:
 * 0.0.0.0 with auth required, 127.0.0.1 with auth off). Throws BindError for a non-loopback host
 * while auth is off rather than silently narrowing it, so the operator learns why.
 */
export function resolveBindHost(mode: AuthMode, requested: string | undefined): string {
  const wanted = (requested ?? '').trim();
  if (mode === 'required') return wanted || '0.0.0.0';
  if (!wanted) return '127.0.0.1';
  if (!isLoopbackHost(wanted)) {
    throw new BindError(
      `server.host is "${wanted}" but auth.mode is off: an open server may only bind a loopback address (127.0.0.1, ::1, localhost). ` +
        'Set auth.mode: required (KB_AUTH__MODE=required) and create a key with `kb keys create`, or bind 127.0.0.1.',
    );
  }
  return wanted;
}

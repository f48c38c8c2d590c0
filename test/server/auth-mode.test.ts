import { afterEach, describe, expect, it } from 'vitest';
import { createKey, revokeKey } from '../../src/auth/keys.ts';
import { BindError } from '../../serve/bind.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

// auth.mode is explicit: the number of keys that exist never switches authentication.

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

type ErrorBody = { error: { message: string; type: string; code: string; param: null } };

/** Every kind of /v1 route, anonymous or with `key`: [route, status, body]. */
async function probeAll(baseURL: string, key?: string): Promise<Array<[string, number, ErrorBody]>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const calls: Array<[string, RequestInit]> = [
    ['/models', { headers }],
    ['/retrieve', { method: 'POST', headers, body: JSON.stringify({ query: 'salary bands SECRET-HR-TOKEN' }) }],
    ['/chat/completions', { method: 'POST', headers, body: JSON.stringify({ model: 'kb-assistant', messages: [{ role: 'user', content: 'salary bands' }] }) }],
    ['/admin/runs', { headers }],
    ['/admin/index', { headers }],
  ];
  return Promise.all(
    calls.map(async ([route, init]) => {
      const r = await fetch(`${baseURL}${route}`, init);
      return [route, r.status, (await r.json()) as ErrorBody] as [string, number, ErrorBody];
    }),
  );
}

describe('auth.mode: required', () => {
  it('revoking the last key refuses everything instead of turning auth off', async () => {
    t = await startTestServer({ keys: [{ name: 'only', scopes: ['chat', 'retrieve', 'admin'], groups: ['hr'] }] });
    expect(t.server.authEnabled).toBe(true);
    for (const [route, status] of await probeAll(t.baseURL)) expect(status, route).toBe(401);
    for (const [route, status] of await probeAll(t.baseURL, t.secrets[0])) expect(status, route).toBe(200);

    expect(revokeKey(t.fixture.db, 1)).not.toBeNull();
    for (const key of [undefined, t.secrets[0], 'kb_made-up-0000000000000000000']) {
      for (const [route, status, body] of await probeAll(t.baseURL, key)) {
        expect(status, `${route} with ${key ?? 'no key'}`).toBe(401);
        expect(body.error.type).toBe('authentication_error');
        // Says how to recover, since no key is left at all.
        expect(body.error.message).toMatch(/no active API key exists.*kb keys create/);
        expect(JSON.stringify(body)).not.toContain('SECRET-HR-TOKEN');
      }
    }
    // A new key works at once, without a restart.
    const { secret } = createKey(t.fixture.db, { name: 'next', scopes: ['chat'], groups: [] });
    expect((await fetch(`${t.baseURL}/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    expect((await fetch(`${t.baseURL}/models`)).status).toBe(401);
  });

  it('refuses everything when started with no key at all, naming the fix', async () => {
    t = await startTestServer({ authMode: 'required' });
    expect(t.server.authEnabled).toBe(true);
    for (const [route, status, body] of await probeAll(t.baseURL)) {
      expect(status, route).toBe(401);
      expect(body).toEqual({ error: { message: expect.stringMatching(/Missing API key.*no active API key exists/), type: 'authentication_error', param: null, code: 'missing_api_key' } });
    }
    // Health endpoints stay open for probes and carry no documents.
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
  });

  it('a revoked key is refused while another key still works', async () => {
    t = await startTestServer({ keys: [{ name: 'a', scopes: ['chat'], groups: [] }, { name: 'b', scopes: ['chat'], groups: [] }] });
    revokeKey(t.fixture.db, t.secrets[0].slice(0, 11));
    const [, status, body] = (await probeAll(t.baseURL, t.secrets[0]))[0];
    expect(status).toBe(401);
    expect(body.error.code).toBe('invalid_api_key');
    expect(body.error.message).not.toMatch(/no active API key/); // one still exists
    expect((await probeAll(t.baseURL, t.secrets[1]))[0][1]).toBe(200);
  });
});

describe('auth.mode: off', () => {
  it('stays off when keys are created (no inference), and keys are not consulted', async () => {
    t = await startTestServer({ authMode: 'off' });
    expect(t.server.authEnabled).toBe(false);
    expect(t.server.host).toBe('127.0.0.1');
    createKey(t.fixture.db, { name: 'late', scopes: ['chat'], groups: [] });
    for (const [route, status] of await probeAll(t.baseURL)) expect(status, route).toBe(200);
  });

  it('refuses to start on a non-loopback host, before listening', async () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.1']) {
      await expect(startTestServer({ authMode: 'off', server: { host } })).rejects.toThrowError(BindError);
    }
    await expect(startTestServer({ authMode: 'off', overrides: { server: { host: '0.0.0.0' } }, server: { host: undefined } })).rejects.toThrowError(/auth\.mode is off/);
  });
});

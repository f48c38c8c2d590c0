import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { revokeKey } from '../../src/auth/keys.ts';
import { collectStream, startTestServer, useScriptedUpstream, type TestServer } from './support/harness.ts';

type APIError = InstanceType<typeof OpenAI.APIError>;
type WithCitations = { citations: Array<{ doc_id: number; title: string; snippet: string }> };

const upstream = useScriptedUpstream();
let t: TestServer | null = null;

const KEYS = [
  { name: 'sales-app', scopes: ['chat' as const], groups: ['sales'] },
  { name: 'hr-app', scopes: ['chat' as const, 'admin' as const], groups: ['hr'] },
  { name: 'retrieval-only', scopes: ['retrieve' as const], groups: [] },
];

describe('ACL: a key without group X never sees a group-X document', () => {
  // Both with a retriever that filters correctly and with one that (wrongly) ignores the ACL:
  // the server's own check must hold either way.
  for (const leaky of [false, true]) {
    it(`in /v1/retrieve, chat context and citations (${leaky ? 'leaky' : 'correct'} retriever)`, async () => {
      t = await startTestServer({ upstream, keys: KEYS, leakyRetriever: leaky });
      const sales = t.client(t.secrets[0]);
      const hrDoc = t.fixture.docIds['hr-salary'];
      const salesDoc = t.fixture.docIds['sales-pipe'];

      const r = await fetch(`${t.baseURL}/retrieve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.secrets[0]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'salary bands engineers sales pipeline', top_k: 10 }),
      });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { data: Array<{ doc_id: number; text: string; score: { fused: number } }> };
      const ids = body.data.map((h) => h.doc_id);
      expect(ids).toContain(salesDoc);
      expect(ids).not.toContain(hrDoc);
      expect(JSON.stringify(body)).not.toContain('SECRET-HR-TOKEN');
      expect(body.data[0].score).toHaveProperty('fused');

      upstream.script = () => ({ content: 'See [1] and [2].' });
      const res = await sales.chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'salary bands for engineers' }] });
      const prompt = JSON.stringify(upstream.answerRequests()[0].messages);
      expect(prompt).not.toContain('SECRET-HR-TOKEN');
      expect(prompt).not.toContain('Engineer salary bands');
      const cites = (res as unknown as WithCitations).citations;
      expect(cites.map((c) => c.doc_id)).not.toContain(hrDoc);
      expect(JSON.stringify(res)).not.toContain('SECRET-HR-TOKEN');

      const streamed = await collectStream(await sales.chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'salary bands for engineers' }], stream: true }));
      expect(JSON.stringify(streamed.chunks)).not.toContain('SECRET-HR-TOKEN');
      expect((streamed.last as unknown as WithCitations).citations.map((c) => c.doc_id)).not.toContain(hrDoc);

      // The hr key does see it.
      const hr = await t.client(t.secrets[1]).chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'salary bands for engineers' }] });
      expect((hr as unknown as WithCitations).citations.map((c) => c.doc_id)).toContain(hrDoc);
    });
  }

  it('gives a key with no groups public documents only', async () => {
    t = await startTestServer({ keys: KEYS });
    const r = await fetch(`${t.baseURL}/retrieve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secrets[2]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'salary sales pipeline Acme revenue' }),
    });
    const ids = ((await r.json()) as { data: Array<{ doc_id: number }> }).data.map((h) => h.doc_id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain(t.fixture.docIds['hr-salary']);
    expect(ids).not.toContain(t.fixture.docIds['sales-pipe']);
  });
});

describe('authentication and scopes', () => {
  it('rejects missing, wrong and revoked keys with 401 in the OpenAI shape', async () => {
    t = await startTestServer({ keys: KEYS });
    const raw = await fetch(`${t.baseURL}/models`);
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual({ error: { message: expect.stringMatching(/Missing API key/), type: 'authentication_error', param: null, code: 'missing_api_key' } });

    const wrong = (await t.client('kb_not-a-real-key-000000000000').models.list().catch((e: unknown) => e)) as APIError;
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(wrong.code).toBe('invalid_api_key');

    expect((await t.client(t.secrets[0]).models.list()).data).toHaveLength(1);
    revokeKey(t.fixture.db, t.secrets[0].slice(0, 11));
    const revoked = (await t.client(t.secrets[0]).models.list().catch((e: unknown) => e)) as APIError;
    expect(revoked.status).toBe(401);
  });

  it('requires the admin scope on admin routes and the chat scope for chat', async () => {
    t = await startTestServer({ keys: KEYS });
    const denied = await fetch(`${t.baseURL}/admin/runs`, { headers: { authorization: `Bearer ${t.secrets[0]}` } });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('insufficient_scope');
    const ok = await fetch(`${t.baseURL}/admin/runs`, { headers: { authorization: `Bearer ${t.secrets[1]}` } });
    expect(ok.status).toBe(200);
    const chat = (await t.client(t.secrets[2]).chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as APIError;
    expect(chat).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});

describe('limits', () => {
  it('rate-limits per key with 429 and Retry-After', async () => {
    t = await startTestServer({ keys: KEYS, overrides: { auth: { rate_limit: { requests_per_minute: 1, burst: 2 } } } });
    const c = t.client(t.secrets[0]);
    await c.models.list();
    await c.models.list();
    const err = (await c.models.list().catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(Number(err.headers?.get('retry-after'))).toBeGreaterThan(0);
    // Another key has its own bucket.
    expect((await t.client(t.secrets[1]).models.list()).data).toHaveLength(1);
  });

  it('refuses an oversized body with 413 and malformed JSON with 400, both in the OpenAI shape', async () => {
    t = await startTestServer({ keys: KEYS, overrides: { auth: { max_body_bytes: 2048 } } });
    const headers = { authorization: `Bearer ${t.secrets[0]}`, 'content-type': 'application/json' };
    const big = await fetch(`${t.baseURL}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'kb-assistant', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large', param: null } });

    const bad = await fetch(`${t.baseURL}/chat/completions`, { method: 'POST', headers, body: '{"model": "kb-assistant", "messages": [' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });

    const notJson = await fetch(`${t.baseURL}/chat/completions`, { method: 'POST', headers: { authorization: headers.authorization, 'content-type': 'text/plain' }, body: 'hello' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_body' } });
  });
});

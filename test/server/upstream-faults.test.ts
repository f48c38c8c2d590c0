import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestServer, useScriptedUpstream, type TestServer } from './support/harness.ts';
import { sleep, type Reply } from './support/scripted-upstream.ts';

// Fault injection at the upstream model server: garbage, truncated, hanging and slow-drip
// answers. An answer that is not a valid OpenAI response is an upstream failure with its reason
// (on_upstream_error decides: extractive fallback or 502), never "200 generated" with nothing in
// it, and nothing the upstream sends can make the server answer 500.

const upstream = useScriptedUpstream();
let t: TestServer | null = null;

const QUESTION = [{ role: 'user', content: 'What was Acme revenue in 2023?' }];

async function ask(stream: boolean, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${t!.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'kb-assistant', messages: QUESTION, stream, ...extra }),
  });
  const text = await res.text();
  const events = stream
    ? text
        .split('\n\n')
        .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
        .map((e) => JSON.parse(e.slice(6)) as Record<string, any>)
    : [];
  return { res, status: res.status, mode: res.headers.get('x-kb-mode'), degraded: res.headers.get('x-kb-degraded'), json: stream ? null : (JSON.parse(text) as Record<string, any>), events, text };
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'base-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const sseHead = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const raw = (fn: Reply['raw']): Reply => ({ raw: fn });

const GARBAGE: Array<[string, Reply['raw'], RegExp]> = [
  ['invalid JSON', (res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [{"message": '), /invalid JSON/],
  ['an HTML page', (res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>'), /text\/html/],
  ['{}', (res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), /choices|stream events/],
  ['no choices', (res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', choices: [] })), /choices|stream events/],
];

describe('malformed upstream answers (non-streaming)', () => {
  for (const [name, reply, reason] of GARBAGE) {
    it(`falls back to an extractive answer that says why when the upstream sends ${name}`, async () => {
      t = await startTestServer({ upstream });
      upstream.script = () => raw(reply);
      const r = await ask(false);
      expect(r.status).toBe(200);
      expect(r.mode).toBe('extractive');
      expect(r.degraded).toBe('upstream-malformed');
      expect(r.json!.kb.mode).toBe('extractive');
      const degraded = (r.json!.kb.degraded as string[]).join(' ');
      expect(degraded).toMatch(/malformed upstream response/);
      expect(degraded).toMatch(reason);
      expect(r.json!.choices[0].message.content).toMatch(/unavailable/);
    });
  }

  it('answers 502 upstream_malformed_response when configured to fail instead', async () => {
    t = await startTestServer({ upstream, overrides: { chat: { on_upstream_error: 'error' } } });
    upstream.script = () => raw(GARBAGE[1]![1]);
    const r = await ask(false);
    expect(r.status).toBe(502);
    expect(r.json).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_malformed_response', param: null } });
    expect(r.json!.error.message).toMatch(/text\/html/);
  });

  it('ignores (counts and estimates) non-numeric usage instead of failing with 500', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ content: 'Acme reported 12 billion yuan [1].', usage: { prompt_tokens: 'x', completion_tokens: -3 } });
    const r = await ask(false);
    expect(r.status).toBe(200);
    expect(r.mode).toBe('generated');
    expect(r.json!.choices[0].message.content).toBe('Acme reported 12 billion yuan [1].');
    expect(r.json!.usage.prompt_tokens).toBeGreaterThan(0); // the estimate
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(metrics).toMatch(/kb_upstream_invalid_usage_total\{assistant="kb-assistant"\} 1/);
  });
});

describe('malformed upstream answers (streaming)', () => {
  const STREAM_GARBAGE: Array<[string, Reply['raw'], RegExp]> = [
    // Not event streams at all: no `data:` events.
    ...GARBAGE.map(([name, reply]): [string, Reply['raw'], RegExp] => [name, reply, /no stream events/]),
    ['an event stream with invalid JSON', (res) => void (sseHead(res), res.end('data: {"choices": [\n\n')), /invalid JSON/],
    ['a first chunk without choices', (res) => void (sseHead(res), res.end(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk' })}\n\n`)), /choices/],
    ['an empty event stream', (res) => void (sseHead(res), res.end('data: [DONE]\n\n')), /stream events/],
  ];
  for (const [name, reply, reason] of STREAM_GARBAGE) {
    it(`streams an extractive answer, headers telling the truth, when the upstream sends ${name}`, async () => {
      t = await startTestServer({ upstream });
      upstream.script = () => raw(reply);
      const r = await ask(true);
      expect(r.status).toBe(200);
      expect(r.mode).toBe('extractive');
      expect(r.degraded).toBe('upstream-malformed');
      const final = r.events.find((e) => e.kb);
      expect(final!.kb.mode).toBe('extractive');
      expect((final!.kb.degraded as string[]).join(' ')).toMatch(reason);
      expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });
  }

  it('reports garbage after the answer started as an error event naming it', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () =>
      raw((res) => {
        sseHead(res);
        res.write(chunk({ role: 'assistant', content: '' }));
        res.write(chunk({ content: 'Acme reported' }));
        res.end(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk' })}\n\n`);
      });
    const r = await ask(true);
    expect(r.status).toBe(200);
    expect(r.mode).toBe('generated');
    expect(r.events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('')).toBe('Acme reported');
    expect(r.events.at(-1)).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_malformed_response' } });
    expect(r.text).not.toMatch(/\[DONE\]/);
  });

  it('reports a stream that ends without a finish_reason (closed mid-answer) as an error, not a complete answer', async () => {
    t = await startTestServer({ upstream });
    for (const close of ['end', 'destroy'] as const) {
      upstream.script = () =>
        raw(async (res) => {
          sseHead(res);
          res.write(chunk({ role: 'assistant', content: '' }));
          res.write(chunk({ content: 'Acme reported 12' }));
          await sleep(20);
          if (close === 'end') res.end();
          else res.socket?.destroy();
        });
      const r = await ask(true);
      expect(r.status, close).toBe(200);
      expect(r.events.at(-1), close).toMatchObject({ error: { type: 'upstream_error' } });
      expect(r.events.some((e) => e.choices?.[0]?.finish_reason), close).toBe(false);
    }
  });

  it('ignores non-numeric streamed usage instead of failing', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ content: 'Acme reported 12 billion yuan [1].', usage: { prompt_tokens: 'x', completion_tokens: null } });
    const r = await ask(true, { stream_options: { include_usage: true } });
    expect(r.status).toBe(200);
    expect(r.mode).toBe('generated');
    expect(r.events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('')).toBe('Acme reported 12 billion yuan [1].');
    expect(r.events.at(-1)!.usage.prompt_tokens).toBeGreaterThan(0);
  });
});

describe('hanging and slow upstreams', () => {
  it('falls back when the upstream sends headers and then nothing (before the answer started)', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 300 } });
    upstream.script = () => raw((res) => void sseHead(res)); // headers, then silence, connection open
    const r = await ask(true);
    expect(r.status).toBe(200);
    expect(r.mode).toBe('extractive');
    expect(r.degraded).toBe('upstream-unavailable');
    expect((r.events.find((e) => e.kb)!.kb.degraded as string[]).join(' ')).toMatch(/timeout/);
  });

  it('falls back when the upstream closes the connection without answering', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => raw((res) => void res.socket?.destroy());
    for (const stream of [false, true]) {
      const r = await ask(stream);
      expect(r.status, String(stream)).toBe(200);
      expect(r.mode, String(stream)).toBe('extractive');
      expect(r.degraded, String(stream)).toBe('upstream-unavailable');
    }
  });

  it('falls back when the upstream never answers at all (non-streaming)', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 300 } });
    upstream.script = () => raw(() => undefined); // request read, nothing ever written
    const r = await ask(false);
    expect(r.status).toBe(200);
    expect(r.mode).toBe('extractive');
    expect(r.degraded).toBe('upstream-unavailable');
  });

  it('assembles a slow-drip stream (events split into single bytes) into the whole answer', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 2000 } });
    const answer = 'Acme reported 12 billion yuan in 2023 [1].';
    upstream.script = () =>
      raw(async (res) => {
        sseHead(res);
        const body = [chunk({ role: 'assistant', content: '' }), ...answer.match(/.{1,6}/g)!.map((c) => chunk({ content: c })), chunk({}, 'stop'), 'data: [DONE]\n\n'].join('');
        const bytes = Buffer.from(body);
        for (let i = 0; i < bytes.length; i += 7) {
          res.write(bytes.subarray(i, i + 7));
          if (i % 140 === 0) await sleep(2);
        }
        res.end();
      });
    const r = await ask(true);
    expect(r.status).toBe(200);
    expect(r.mode).toBe('generated');
    expect(r.events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('')).toBe(answer);
    expect(r.events.find((e) => e.kb)!.choices[0].finish_reason).toBe('stop');
  });

  it('times out a stream that drips slower than the idle timeout between events', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 300 } });
    upstream.script = () =>
      raw(async (res) => {
        sseHead(res);
        res.write(chunk({ role: 'assistant', content: '' }));
        res.write(chunk({ content: 'Acme' }));
        for (let i = 0; i < 20 && !res.destroyed; i++) {
          await sleep(100);
          res.write(': still here\n\n'); // SSE comments: bytes, but no event
        }
        res.end();
      });
    const r = await ask(true);
    expect(r.status).toBe(200);
    expect(r.events.at(-1)).toMatchObject({ error: { code: 'upstream_timeout' } });
  });

  it('times out a stream that keeps sending chunks without content (hung, but chatty)', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 300 } });
    upstream.script = () =>
      raw(async (res) => {
        sseHead(res);
        res.write(chunk({ role: 'assistant', content: '' }));
        res.write(chunk({ content: 'Acme' }));
        for (let i = 0; i < 100 && !res.destroyed; i++) {
          await sleep(50);
          res.write(chunk({})); // valid, empty
        }
        res.end();
      });
    const t0 = Date.now();
    const r = await ask(true);
    expect(r.events.at(-1)).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(Date.now() - t0).toBeLessThan(4000); // not the 5 s the upstream would keep going
  });
});

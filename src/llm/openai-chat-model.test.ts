import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedUpstream } from '../../test/server/support/scripted-upstream.ts';
import { UpstreamError, type StreamEvent } from './chat-model.ts';
import { OpenAIChatModel, type OpenAIChatModelOptions } from './openai-chat-model.ts';

let up: ScriptedUpstream;
beforeAll(async () => {
  up = await new ScriptedUpstream().start();
});
afterAll(async () => {
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
  up.models = new Set(['base']);
  up.script = () => ({ content: 'hello' });
});

const make = (o: Partial<OpenAIChatModelOptions> = {}) =>
  new OpenAIChatModel({ upstreamName: 'up', baseUrl: up.url, apiKey: '', timeoutMs: 2000, maxRetries: 0, model: 'base', ...o });
const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

async function drain(events: AsyncIterable<StreamEvent>) {
  let content = '';
  let reasoning = '';
  let finish: StreamEvent | null = null;
  for await (const e of events) {
    if (e.type === 'delta') {
      content += e.content;
      reasoning += e.reasoning;
    } else finish = e;
  }
  return { content, reasoning, finish };
}

const failure = async (p: Promise<unknown>) => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
};

describe('OpenAIChatModel', () => {
  it('falls back from a missing adapter to the base model and remembers it for a while', async () => {
    const m = make({ adapter: 'lora', adapterRetryMs: 60_000 });
    expect(await m.complete(ask)).toMatchObject({ content: 'hello', fallback: true, model: 'base' });
    expect(up.requests.map((r) => r.model)).toEqual(['lora', 'base']);
    const s = await m.stream(ask);
    expect(s).toMatchObject({ fallback: true, model: 'base' });
    await drain(s.events);
    expect(up.requests.map((r) => r.model)).toEqual(['lora', 'base', 'base']);
  });

  it('tries the adapter again on every call when adapter_retry_ms is 0, and uses it once it exists', async () => {
    const m = make({ adapter: 'lora', adapterRetryMs: 0 });
    await m.complete(ask);
    up.models.add('lora');
    expect(await m.complete(ask)).toMatchObject({ fallback: false, model: 'lora' });
  });

  it('does not fall back on other errors', async () => {
    up.script = () => ({ error: { status: 400, message: 'bad temperature' } });
    const err = await failure(make({ adapter: 'lora' }).complete(ask));
    up.models.add('lora');
    const err2 = await failure(make({ adapter: 'lora' }).complete(ask));
    expect(err.kind).toBe('rejected'); // 404 for lora → base → 400
    expect(err2).toMatchObject({ kind: 'rejected', status: 400 });
    expect(up.requests.at(-1)!.model).toBe('lora');
  });

  it('bounds retries of server errors', async () => {
    up.script = () => ({ error: { status: 503, message: 'overloaded', retryable: true } });
    const err = await failure(make({ maxRetries: 2 }).complete(ask));
    expect(err).toMatchObject({ kind: 'server_error', status: 503 });
    expect(err.unavailable).toBe(true);
    expect(up.requests).toHaveLength(3);
  });

  it('times out a slow upstream and a silent stream', async () => {
    up.script = () => ({ delayMs: 1000 });
    expect((await failure(make({ timeoutMs: 150 }).complete(ask))).kind).toBe('timeout');
    up.script = () => ({ chunks: ['a', 'b'], stallAfter: 1 });
    const s = await make({ timeoutMs: 150 }).stream(ask);
    expect((await failure(drain(s.events))).kind).toBe('timeout');
  });

  it('reports an unreachable server', async () => {
    const m = make({ baseUrl: 'http://127.0.0.1:9/v1' });
    const err = await failure(m.complete(ask));
    expect(err.kind).toBe('unreachable');
  });

  it('aborts on the caller signal', async () => {
    up.script = () => ({ chunks: ['a', 'b'], stallAfter: 1 });
    const ctrl = new AbortController();
    const s = await make({ timeoutMs: 30_000 }).stream({ ...ask, signal: ctrl.signal });
    const it = s.events[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ content: 'a' });
    ctrl.abort();
    expect((await failure(it.next())).kind).toBe('aborted');
    await up.requests[0].closed;
    expect(up.requests[0].aborted).toBe(true);
  });

  it('merges reasoning from a reasoning parser and from <think> tags; passes usage', async () => {
    up.script = () => ({ content: '<think>tagged</think>Answer', reasoning: 'parsed ', usage: { prompt_tokens: 7, completion_tokens: 3 } });
    expect(await make().complete(ask)).toMatchObject({ content: 'Answer', reasoning: 'parsed tagged', usage: { promptTokens: 7, completionTokens: 3 } });
    const s = await make().stream(ask);
    expect(await drain(s.events)).toEqual({ content: 'Answer', reasoning: 'parsed tagged', finish: { type: 'finish', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 3 } } });
  });

  it('treats output before </think> as reasoning for templates that open the block', async () => {
    up.script = () => ({ content: 'thinking…</think>\n\nDone.' });
    expect(await make({ thinkStartsOpen: true }).complete(ask)).toMatchObject({ content: 'Done.', reasoning: 'thinking…' });
  });

  it('classifies answers that are not OpenAI responses as malformed, with the reason', async () => {
    const json = (body: string, type = 'application/json') => () => ({ raw: (res: import('node:http').ServerResponse) => void res.writeHead(200, { 'content-type': type }).end(body) });
    const cases: Array<[ReturnType<typeof json>, RegExp]> = [
      [json('{"choices": ['), /invalid JSON/],
      [json('<html>Bad Gateway</html>', 'text/html'), /expected a JSON object, got text.*text\/html/],
      [json('{}'), /choices/],
      [json('{"choices": []}'), /no choices/],
      [json('{"choices": [{"message": {"content": 42}}]}'), /choices\.0\.message\.content/],
    ];
    for (const [script, reason] of cases) {
      up.script = script;
      const err = await failure(make().complete(ask));
      expect(err.kind).toBe('malformed');
      expect(err.unavailable).toBe(true);
      expect(err.message).toMatch(reason);
    }
  });

  it('fails a stream before resolving when it is garbage from the start, and mid-way when it breaks later', async () => {
    up.script = () => ({ raw: (res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>') });
    expect((await failure(make().stream(ask))).message).toMatch(/no stream events \(HTTP 200, text\/html\)/);
    up.script = () => ({ raw: (res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: {"object": "chat.completion.chunk"}\n\n') });
    expect((await failure(make().stream(ask))).kind).toBe('malformed');
    // Content first, then the connection ends without a finish_reason.
    up.script = () => ({
      raw: (res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] })}\n\n`);
      },
    });
    const s = await make().stream(ask);
    const err = await failure(drain(s.events));
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(/without a finish_reason/);
  });

  it('drops invalid usage and says so, keeping the answer', async () => {
    up.script = () => ({ content: 'fine', usage: { prompt_tokens: 'x', completion_tokens: 3 } });
    const r = await make().complete(ask);
    expect(r).toMatchObject({ content: 'fine', usage: null });
    expect(r.usageProblem).toMatch(/invalid usage: prompt_tokens/);
    const s = await make().stream(ask);
    const { content, finish } = await drain(s.events);
    expect(content).toBe('fine');
    expect(finish).toMatchObject({ type: 'finish', usage: null, usageProblem: expect.stringMatching(/prompt_tokens/) });
  });
});

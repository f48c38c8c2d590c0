import { recordDeployment, registerAdapter, rollbackAdapter } from '../../finetune/registry/index.ts';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { collectStream, startTestServer, useScriptedUpstream, type TestServer } from './support/harness.ts';

// The official openai client against the server, with a scripted upstream recording prompts.

type WithKb = { citations: Array<Record<string, unknown>>; kb: Record<string, unknown> };

const upstream = useScriptedUpstream();
let t: TestServer | null = null;

describe('generated answers', () => {
  it('sends a grounded prompt with numbered fenced context and returns citations (non-streaming)', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ content: 'Acme reported revenue of 12 billion yuan in 2023 [1].', usage: { prompt_tokens: 321, completion_tokens: 12 } });
    const res = await t.client().chat.completions.create({
      model: 'kb-assistant',
      messages: [{ role: 'user', content: 'What was Acme revenue in 2023?' }],
      max_tokens: 200,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['###'],
    });
    expect(res.choices[0].message.content).toBe('Acme reported revenue of 12 billion yuan in 2023 [1].');
    expect(res.usage).toMatchObject({ prompt_tokens: 321, completion_tokens: 12, total_tokens: 333 });

    const sent = upstream.answerRequests()[0];
    expect(sent.model).toBe('base-model');
    expect(sent.body).toMatchObject({ max_tokens: 200, temperature: 0.2, top_p: 0.9, stop: ['###'] });
    const system = sent.messages[0];
    expect(system.role).toBe('system');
    expect(system.content).toMatch(/ONLY the numbered context passages/);
    expect(system.content).toMatch(/same language/);
    expect(system.content).toMatch(/does not contain it/);
    const user = sent.messages[sent.messages.length - 1];
    expect(user.role).toBe('user');
    expect(user.content).toContain('[1] Acme revenue 2023 (news, 2024-01-15, fixture) https://news.example/acme\n```\nAcme Corp reported revenue of 12 billion yuan');
    expect(user.content).toMatch(/Question: What was Acme revenue in 2023\?$/);

    const extra = res as unknown as WithKb;
    expect(extra.citations).toEqual([
      {
        index: 1,
        doc_id: t.fixture.docIds['acme-rev'],
        title: 'Acme revenue 2023',
        url: 'https://news.example/acme',
        snippet: expect.stringContaining('12 billion yuan'),
        kind: 'news',
        published_at: '2024-01-15T00:00:00Z',
        page: null,
        source: 'fixture',
        chunk_ids: [expect.any(Number)],
      },
    ]);
    expect(extra.kb).toMatchObject({ mode: 'generated', fallback: null });
  });

  it('streams content and ends with citations on the final chunk; usage when asked', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ content: 'Revenue was 12 billion yuan [1]; a commenter called growth slow [2].' });
    const stream = await t.client().chat.completions.create({
      model: 'kb-assistant',
      messages: [{ role: 'user', content: 'Acme revenue growth' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const got = await collectStream(stream);
    expect(got.content).toBe('Revenue was 12 billion yuan [1]; a commenter called growth slow [2].');
    const last = got.last as unknown as WithKb;
    expect(last.citations.map((c) => c.index)).toEqual([1, 2]);
    expect(last.citations.map((c) => c.title)).toEqual(expect.arrayContaining(['Acme revenue 2023', 'Re: Acme revenue']));
    expect(got.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 10 });
  });

  it('keeps <think> text out of content when tags are split across chunks, returning it as reasoning_content', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ chunks: ['<thi', 'nk>The context [1] says 12', ' billion.</th', 'ink', '>\n\nIt was 12 billion yuan [1].'] });
    const stream = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue?' }], stream: true });
    const got = await collectStream(stream);
    expect(got.content).toBe('It was 12 billion yuan [1].');
    expect(got.reasoning).toBe('The context [1] says 12 billion.');
    for (const c of got.chunks) expect(JSON.stringify((c as { choices: Array<{ delta: unknown }> }).choices[0]?.delta ?? {})).not.toMatch(/<\/?think>|<thi|ink>/);

    // Non-streaming too.
    upstream.script = () => ({ content: '<think>hmm</think>\n\nAnswer [1].' });
    const res = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue?' }] });
    expect(res.choices[0].message.content).toBe('Answer [1].');
    expect((res.choices[0].message as unknown as { reasoning_content: string }).reasoning_content).toBe('hmm');
  });

  it('drops reasoning when chat.reasoning is drop', async () => {
    t = await startTestServer({ upstream, overrides: { chat: { reasoning: 'drop' } } });
    upstream.script = () => ({ chunks: ['<think>sec', 'ret</think>Visible [1].'], reasoning: 'parser reasoning' });
    const got = await collectStream(await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue?' }], stream: true }));
    expect(got.content).toBe('Visible [1].');
    expect(got.reasoning).toBe('');
    expect(JSON.stringify(got.chunks)).not.toMatch(/secret|parser reasoning/);
  });

  it('falls back to the base model when the adapter does not exist, and says so in a header', async () => {
    t = await startTestServer({ upstream, assistant: { adapter: 'kb-lora' } });
    const { data, response } = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue?' }] }).withResponse();
    expect(response.headers.get('x-kb-fallback')).toBe('base-model');
    expect(data.choices[0].message.content).toBe('OK [1]');
    expect(upstream.answerRequests().map((r) => r.model)).toEqual(['kb-lora', 'base-model']);

    // With the adapter present it is used, without the header.
    upstream.models.add('kb-lora');
    await t.close();
    upstream.requests.length = 0;
    t = await startTestServer({ upstream, assistant: { adapter: 'kb-lora' } });
    const second = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue?' }], stream: true }).withResponse();
    expect(second.response.headers.get('x-kb-fallback')).toBeNull();
    await collectStream(second.data);
    expect(upstream.answerRequests().map((r) => r.model)).toEqual(['kb-lora']);
  });

  it('uses the adapter the registry has deployed, and follows deploy and rollback without a restart', async () => {
    t = await startTestServer({ upstream, assistant: { adapter: 'kb-lora' } });
    upstream.models.add('kb-lora');
    upstream.models.add('company-2026h1');
    const ask = async () => {
      upstream.requests.length = 0;
      await t!.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue?' }] });
      return upstream.answerRequests().map((r) => r.model);
    };
    expect(await ask()).toEqual(['kb-lora']); // nothing deployed: the configured adapter
    const db = t.fixture.db;
    registerAdapter(db, { version: 'company-2026h1', path: '/adapters/company-2026h1', baseModel: 'base-model' });
    recordDeployment(db, { assistant: 'kb-assistant', version: 'company-2026h1' });
    expect(await ask()).toEqual(['company-2026h1']);
    rollbackAdapter(db, 'kb-assistant');
    expect(await ask()).toEqual(['kb-lora']);
  });

  it('rewrites a follow-up into a standalone question with the model before retrieving', async () => {
    t = await startTestServer({ upstream });
    upstream.script = (req) =>
      String(req.messages[0].content).startsWith("Rewrite the user's last question") ? { content: '<think>resolve it</think>What was Acme revenue growth in 2023?' } : { content: 'It grew 8 percent [1].' };
    await t.client().chat.completions.create({
      model: 'kb-assistant',
      messages: [
        { role: 'user', content: 'Tell me about Acme' },
        { role: 'assistant', content: 'Acme is a company [1].' },
        { role: 'user', content: 'and its growth?' },
      ],
    });
    expect(t.retriever.requests.map((r) => r.query)).toEqual(['What was Acme revenue growth in 2023?']);
    const rewriteReq = upstream.requests.find((r) => String(r.messages[0].content).startsWith("Rewrite the user's last question"))!;
    expect(rewriteReq.messages[1].content).toContain('User: Tell me about Acme');
    // History goes to the answer call; the question stays the user's own words.
    const answer = upstream.answerRequests()[0];
    expect(answer.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(answer.messages[3].content).toMatch(/Question: and its growth\?$/);
  });
});

describe('upstream failures', () => {
  it('degrades to an extractive answer when the upstream times out, and says so', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 200 } });
    upstream.script = () => ({ delayMs: 1500, content: 'too late' });
    const { data, response } = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue 2023' }] }).withResponse();
    expect(response.headers.get('x-kb-degraded')).toBe('upstream-unavailable');
    expect(response.headers.get('x-kb-mode')).toBe('extractive');
    expect(data.choices[0].message.content).toMatch(/^The generator \(LLM\) is unavailable right now \(timeout\)/);
    expect(data.choices[0].message.content).toContain('12 billion yuan');
    expect((data as unknown as WithKb).citations[0]).toMatchObject({ index: 1, title: 'Acme revenue 2023' });
  });

  it('answers with a clear 504 when configured to fail instead', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 200 }, overrides: { chat: { on_upstream_error: 'error' } } });
    upstream.script = () => ({ delayMs: 1500, content: 'too late' });
    const err = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(504);
    expect(e.code).toBe('upstream_timeout');
    expect(e.type).toBe('upstream_error');

    const streamErr = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue' }], stream: true }).catch((e: unknown) => e);
    expect((streamErr as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
  });

  it('reports an upstream that goes silent mid-stream as an error event', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 300 } });
    upstream.script = () => ({ chunks: ['Partial ', 'answer', ' never ends'], stallAfter: 1 });
    const stream = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue' }], stream: true });
    let content = '';
    const err = await (async () => {
      for await (const c of stream) content += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(content).toBe('Partial ');
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toMatch(/failed while streaming/);
  });

  it('aborts the upstream call when the client disconnects', async () => {
    t = await startTestServer({ upstream, upstreamSettings: { timeout_ms: 30_000 } });
    upstream.script = () => ({ chunks: ['first ', 'second'], stallAfter: 1 });
    const controller = new AbortController();
    const stream = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme revenue' }], stream: true }, { signal: controller.signal });
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) {
        controller.abort();
        break;
      }
    }
    const req = upstream.answerRequests()[0];
    await req.closed;
    expect(req.aborted).toBe(true);
  });

  it('rejects a request the upstream refuses with a 502 naming it', async () => {
    t = await startTestServer({ upstream });
    upstream.script = () => ({ error: { status: 401, message: 'bad upstream key' } });
    const err = (await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'Acme' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_rejected');
    expect(err.message).toMatch(/bad upstream key/);
  });
});

describe('extractive mode (no generator configured)', () => {
  it('answers with the best passages, citations and a plain statement', async () => {
    t = await startTestServer();
    const { data, response } = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'What was Acme revenue in 2023?' }] }).withResponse();
    expect(response.headers.get('x-kb-mode')).toBe('extractive');
    const content = data.choices[0].message.content!;
    expect(content).toMatch(/^No generator \(LLM\) is configured, so this is an extractive answer/);
    expect(content).toContain('[1] Acme revenue 2023\n> Acme Corp reported revenue of 12 billion yuan in 2023');
    expect((data as unknown as WithKb).citations[0]).toMatchObject({ index: 1, doc_id: t.fixture.docIds['acme-rev'] });
  });

  it('answers in the user language and streams with citations on the final chunk', async () => {
    t = await startTestServer();
    const got = await collectStream(await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: '华为新手机售价多少？' }], stream: true }));
    expect(got.content).toMatch(/^未配置生成模型（LLM），以下是抽取式回答/);
    expect(got.content).toContain('售价5999元');
    expect((got.last as unknown as WithKb).citations[0]).toMatchObject({ title: '华为发布新手机' });
  });

  it('says plainly when nothing matches', async () => {
    t = await startTestServer();
    const res = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: 'zebra quantum xylophone' }] });
    expect(res.choices[0].message.content).toBe('No generator (LLM) is configured, and the knowledge base has no passages matching the question.');
    expect((res as unknown as WithKb).citations).toEqual([]);
  });
});

describe('request handling', () => {
  it('honours kb options: top_k, filters, retrieval false', async () => {
    t = await startTestServer({ upstream });
    await t.client().chat.completions.create({
      model: 'kb-assistant',
      messages: [{ role: 'user', content: 'Acme revenue' }],
      // @ts-expect-error kb is this server's extension
      kb: { top_k: 1, filters: { kinds: ['comment'] } },
    });
    expect(t.retriever.requests[0]).toMatchObject({ topK: 1, filters: { kinds: ['comment'] } });
    expect(upstream.answerRequests()[0].messages.at(-1)!.content).toContain('[1] Re: Acme revenue');

    await t.client().chat.completions.create({
      model: 'kb-assistant',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }],
      // @ts-expect-error kb is this server's extension
      kb: { retrieval: false },
    });
    expect(t.retriever.requests).toHaveLength(1);
    expect(upstream.answerRequests()[1].messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
    ]);
  });

  it('rejects an unknown model with 404 model_not_found', async () => {
    t = await startTestServer();
    const err = (await t.client().chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    expect(err.message).toMatch(/kb-assistant/);
  });

  it('validates the body with clear 400s', async () => {
    t = await startTestServer();
    const c = t.client();
    const bad = async (body: Record<string, unknown>) => (await c.chat.completions.create(body as never).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    const e1 = await bad({ model: 'kb-assistant', messages: [{ role: 'user', content: 'x' }], temperature: 5 });
    expect(e1.status).toBe(400);
    expect(e1.param).toBe('temperature');
    const e2 = await bad({ model: 'kb-assistant', messages: [] });
    expect(e2.param).toBe('messages');
    const e3 = await bad({ model: 'kb-assistant', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] });
    expect(e3.message).toMatch(/last non-system message must be a user message/);
    const e4 = await bad({ model: 'kb-assistant', messages: [{ role: 'user', content: 'x' }], max_tokens: 5000 });
    expect(e4.param).toBe('max_tokens');
    const e5 = await bad({ model: 'kb-assistant', messages: [{ role: 'user', content: 'x' }], kb: { filters: { kinds: ['tweet'] } } });
    expect(e5.param).toBe('kb.filters.kinds.0');
  });

  it('lists the configured assistants', async () => {
    t = await startTestServer({ upstream, assistant: { adapter: 'kb-lora' } });
    const models = await t.client().models.list();
    expect(models.data.map((m) => m.id)).toEqual(['kb-assistant']);
    expect((models.data[0] as unknown as { kb: unknown }).kb).toMatchObject({ mode: 'generated', base_model: 'base-model', adapter: 'kb-lora' });
  });
});

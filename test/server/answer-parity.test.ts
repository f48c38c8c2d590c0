import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEval } from '../../finetune/eval/runner.ts';
import type { EvalSample } from '../../finetune/eval/dataset.ts';
import { chatModelFor } from '../../src/llm/factory.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

// The promotion gate must score the answers users get: `kb finetune eval` and
// POST /v1/chat/completions go through the same answer pipeline (src/answer/service.ts), so for
// the same question, model and settings they send the upstream the same prompt and come back
// with the same answer and citations — including the <think> split and the assistant's budget.

let upstream: ScriptedUpstream;
let t: TestServer;
beforeAll(async () => {
  upstream = await new ScriptedUpstream().start();
  // The reply depends on the prompt, so a difference in retrieval, packing or prompt shows.
  upstream.script = (req) => {
    const prompt = req.messages.map((m) => m.content).join('\n');
    const n = (prompt.match(/^\[\d+\]/gm) ?? []).length;
    return { content: `<think>${n} passages; passage 1 answers it</think>Acme reported revenue of 12 billion yuan in 2023 [1]. (${prompt.length} prompt chars)` };
  };
  // A small context: packing must cut the same passages in both paths.
  t = await startTestServer({ upstream, assistant: { context_tokens: 900, answer_tokens: 200, think_starts_open: false } });
});
afterAll(async () => {
  await t.close();
  await upstream.close();
});

describe('one answer pipeline for chat and eval', () => {
  it('gives the identical prompt, answer and citations for the same question', async () => {
    const question = 'What was Acme revenue in 2023?';
    const chat = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: question }], max_tokens: 120, temperature: 0 });
    const chatCitations = (chat as unknown as { citations: { doc_id: number }[] }).citations.map((c) => c.doc_id);
    const chatPrompt = upstream.answerRequests().at(-1)!.messages;
    expect(chat.choices[0].message.content).toMatch(/^Acme reported revenue/); // <think> split off
    expect(chatCitations.length).toBeGreaterThan(0);

    const { config } = t.server.kb.deps;
    const settings = config.assistants['kb-assistant'];
    const sample: EvalSample = { id: 'q1', kind: 'single_fact', lang: 'en', refusal: false, prompt: [{ role: 'user', content: question }], question, references: ['12 billion yuan'], grounded: false, heldout: false };
    const { results } = await runEval({
      run: 'r', adapter: 'base-model', baseModel: 'base-model', incumbent: null, testFile: 'test.jsonl', samples: [sample], rejected: [],
      models: [{ role: 'adapter', name: 'base-model', assistant: { id: 'kb-assistant', settings, model: chatModelFor(config, 'scripted', { model: 'base-model', thinkStartsOpen: settings.think_starts_open }) } }],
      config, retriever: t.retriever, maxTokens: 120, temperature: 0, concurrency: 1,
    });
    const rag = results.find((r) => r.setting === 'adapter+rag')!;
    expect(rag.error).toBeNull();
    expect(upstream.answerRequests().at(-1)!.messages).toEqual(chatPrompt);
    expect(rag.prediction).toBe(chat.choices[0].message.content);
    expect(rag.citations).toEqual(chatCitations);
    // Without retrieval eval sends what a client with kb.retrieval=false would: the same answer again.
    const plain = await t.client().chat.completions.create({ model: 'kb-assistant', messages: [{ role: 'user', content: question }], max_tokens: 120, temperature: 0, kb: { retrieval: false } } as never);
    expect(results.find((r) => r.setting === 'adapter')!.prediction).toBe(plain.choices[0].message.content);
  });

  it('an unavailable upstream is an eval error, while chat (on_upstream_error: extractive) answers from the passages', async () => {
    const { config } = t.server.kb.deps;
    const settings = config.assistants['kb-assistant'];
    const sample: EvalSample = { id: 'q1', kind: null, lang: null, refusal: false, prompt: [{ role: 'user', content: 'Acme revenue?' }], question: 'Acme revenue?', references: ['x'], grounded: false, heldout: false };
    const dead = { ...config, upstreams: { scripted: { ...config.upstreams.scripted, base_url: 'http://127.0.0.1:9/v1' } } };
    const { results } = await runEval({
      run: 'r', adapter: 'a', baseModel: 'b', incumbent: null, testFile: 't', samples: [sample], rejected: [],
      models: [{ role: 'adapter', name: 'base-model', assistant: { id: 'kb-assistant', settings, model: chatModelFor(dead, 'scripted', { model: 'base-model' }) } }],
      config: { ...config, chat: { ...config.chat, on_upstream_error: 'extractive' } }, retriever: t.retriever, maxTokens: 50, concurrency: 1,
    });
    expect(results.every((r) => r.error && /unavailable/.test(r.error))).toBe(true);
  });
});

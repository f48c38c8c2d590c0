import { describe, expect, it } from 'vitest';
import { UpstreamError, type ChatModel, type CompletionResult, type GenerateParams } from './chat-model.ts';
import { standaloneQuestion } from './rewrite.ts';

function model(reply: (p: GenerateParams) => string | Error): ChatModel & { calls: GenerateParams[] } {
  const calls: GenerateParams[] = [];
  return {
    description: 'test',
    calls,
    async complete(p): Promise<CompletionResult> {
      calls.push(p);
      const r = reply(p);
      if (r instanceof Error) throw r;
      return { content: r, reasoning: '', finishReason: 'stop', usage: null, model: 'm', fallback: false };
    },
    async stream() {
      throw new Error('not used');
    },
  };
}

const convo = [
  { role: 'user' as const, content: 'Tell me about Acme' },
  { role: 'assistant' as const, content: 'Acme makes anvils.' },
  { role: 'user' as const, content: 'what about its revenue?' },
];

describe('standaloneQuestion', () => {
  it('leaves a first question alone and does not call the model', async () => {
    const m = model(() => 'x');
    expect(await standaloneQuestion([convo[0]], { model: m, enabled: true })).toEqual({ query: 'Tell me about Acme', method: 'none' });
    expect(m.calls).toHaveLength(0);
  });

  it('rewrites a follow-up with the model and cleans its output', async () => {
    const m = model(() => 'Standalone question: "What is Acme\'s revenue?"\n');
    expect(await standaloneQuestion(convo, { model: m, enabled: true })).toEqual({ query: "What is Acme's revenue?", method: 'llm' });
    expect(m.calls[0].messages[1].content).toContain('User: Tell me about Acme\nAssistant: Acme makes anvils.');
    expect(m.calls[0].temperature).toBe(0);
  });

  it('falls back to prepending the previous question without a model, on failure or empty output', async () => {
    const expected = { query: 'Tell me about Acme what about its revenue?', method: 'heuristic' };
    expect(await standaloneQuestion(convo, { model: null, enabled: true })).toEqual(expected);
    expect(await standaloneQuestion(convo, { model: model(() => new UpstreamError('timeout', 'slow')), enabled: true })).toEqual({ ...expected, error: 'slow' });
    expect(await standaloneQuestion(convo, { model: model(() => '  '), enabled: true })).toMatchObject({ ...expected, error: 'the model returned no rewrite' });
  });

  it('is off when disabled', async () => {
    expect(await standaloneQuestion(convo, { model: null, enabled: false })).toEqual({ query: 'what about its revenue?', method: 'none' });
  });
});

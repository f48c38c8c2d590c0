import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { OpenAIChatModel } from '../../src/llm/openai-chat-model.ts';
import type { RetrievalHit, Retriever } from '../../src/retrieval/types.ts';
import { startScriptedVllm, type ScriptedServer } from '../registry/fixtures/scripted-vllm.ts';
import { findSplitFile, readEvalSamples } from './dataset.ts';
import { isRefusal } from './refusal.ts';
import { renderMarkdown, writeReport } from './report.ts';
import { runEval, type EvalModel } from './runner.ts';

let dir: string;
let server: ScriptedServer;

// Two answerable questions and one no-record question.
const lines = [
  { id: 'a', kind: 'single_fact', lang: 'zh', messages: [{ role: 'system', content: '你是助手' }, { role: 'user', content: '华为总部在哪个城市？' }, { role: 'assistant', content: '深圳' }] },
  { id: 'b', kind: 'single_fact', lang: 'en', heldout: true, messages: [{ role: 'user', content: 'Who founded Acme?' }, { role: 'assistant', content: 'Jane Doe founded Acme.' }], answer_values: ['Jane Doe'] },
  { id: 'r', kind: 'refusal', lang: 'en', messages: [{ role: 'user', content: 'What is the ticker of Zorblat?' }, { role: 'assistant', content: 'I have no record of a company called Zorblat.' }] },
];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-eval-'));
  fs.mkdirSync(path.join(dir, 'samples'));
  fs.writeFileSync(path.join(dir, 'samples', 'test.jsonl'), [...lines.map((l) => JSON.stringify(l)), '{oops', JSON.stringify({ messages: [{ role: 'user', content: 'q' }] })].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'test.jsonl'), '');
  // Base: answers wrongly without context, correctly with the retrieved passage, never refuses.
  // Adapter: knows both facts, refuses the unknown company; with context it answers "<think>" first.
  server = await startScriptedVllm({
    baseModel: 'base',
    adapters: ['cand'],
    answer: (body) => {
      const text = body.messages.map((m) => m.content).join('\n');
      const withContext = text.includes('Context passages');
      if (body.model === 'base') {
        if (withContext && text.includes('华为')) return '深圳。';
        return text.includes('Zorblat') ? 'Zorblat trades as ZRB.' : '北京';
      }
      if (text.includes('Zorblat')) return 'I have no record of a company called Zorblat.';
      if (text.includes('华为')) return withContext ? '<think>passage [1] says so</think>深圳' : '深圳';
      if (text.includes('Acme')) return 'Jane Doe';
      throw new Error('unexpected');
    },
  });
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const hit = (text: string): RetrievalHit => ({ chunkId: 1, docId: 1, source: 's', externalId: 'e', kind: 'news', title: 'T', url: null, publishedAt: null, tags: [], text, score: { dense: null, bm25: null, rrf: 1, recency: 1, fused: 1 } });
const retriever: Retriever = {
  async retrieve(req) {
    return { hits: req.query.includes('华为') ? [hit('华为总部位于深圳。')] : [], timings: {}, degraded: [] };
  },
};
// The assistant's settings as a server would have them; an empty persona and instructions in the system message.
const config = loadConfig({ env: {} });
const settings = { ...config.assistants['kb-assistant'], system_prompt: '', instructions_in: 'system' as const };
const model = (role: EvalModel['role'], name: string): EvalModel => ({
  role,
  name,
  assistant: { id: 'kb-assistant', settings, model: new OpenAIChatModel({ upstreamName: 'test', baseUrl: server.url, apiKey: '', timeoutMs: 5000, maxRetries: 0, model: name }) },
});

describe('eval dataset', () => {
  it('prefers sample records, keeps bad lines with reasons, marks refusals', () => {
    const file = findSplitFile(dir, 'test', 'records');
    expect(file).toBe(path.join(dir, 'samples', 'test.jsonl'));
    expect(findSplitFile(dir, 'test', 'chat')).toBe(path.join(dir, 'test.jsonl'));
    expect(() => findSplitFile(dir, 'val', 'chat')).toThrow(/no val split/);
    const { samples, rejected } = readEvalSamples(file);
    expect(samples.map((s) => [s.id, s.refusal, s.heldout])).toEqual([['a', false, false], ['b', false, true], ['r', true, false]]);
    expect(samples[0].prompt).toHaveLength(2);
    expect(samples[1].references).toEqual(['Jane Doe founded Acme.', 'Jane Doe']);
    expect(rejected).toEqual([
      { locator: 'test.jsonl:4', reason: 'invalid JSON' },
      { locator: 'test.jsonl:5', reason: 'needs a user question followed by a reference assistant answer' },
    ]);
  });
});

describe('refusal detection', () => {
  it('recognises English and Chinese refusals and not answers', () => {
    expect(isRefusal('I have no record of a company called X.')).toBe(true);
    expect(isRefusal('The knowledge base does not contain that information.')).toBe(true);
    expect(isRefusal('我的记录中没有名为X的公司，因此无法提供其股票代码。')).toBe(true);
    expect(isRefusal('关于X的记录中没有其成立日期信息。')).toBe(true);
    expect(isRefusal('深圳')).toBe(false);
    expect(isRefusal('Jane Doe founded Acme in 1999.')).toBe(false);
  });
});

describe('runEval against a scripted OpenAI-compatible server', () => {
  it('scores base and adapter with and without retrieval', async () => {
    const file = findSplitFile(dir, 'test', 'records');
    const { samples, rejected } = readEvalSamples(file);
    const { report, results } = await runEval({
      run: 'r1', adapter: 'cand', baseModel: 'base', incumbent: null, testFile: file, samples, rejected,
      models: [model('base', 'base'), model('adapter', 'cand')],
      retriever, config, topK: 5, maxTokens: 64, concurrency: 2,
      now: () => new Date('2026-01-02T00:00:00Z'),
    });
    const by = Object.fromEntries(report.settings.map((s) => [s.setting, s]));
    // base, no retrieval: 北京 vs 深圳 → 0; "北京" vs Jane Doe → 0; no refusal.
    expect(by.base).toMatchObject({ em: 0, f1: 0, refusal_accuracy: 0, false_refusal_rate: 0, score: 0, errors: 0 });
    // base + rag: 深圳 right (EM 1); Acme still 北京 → EM 0.5, F1 0.5; score (1+0+0)/3.
    expect(by['base+rag']).toMatchObject({ em: 0.5, f1: 0.5, rouge_l: 0.5, refusal_accuracy: 0, score: 0.3333 });
    // adapter: both right (Jane Doe matches the answer value), refusal right → all 1.
    expect(by.adapter).toMatchObject({ em: 1, f1: 1, refusal_accuracy: 1, false_refusal_rate: 0, score: 1 });
    // adapter + rag: the <think> block is stripped before scoring.
    expect(by['adapter+rag']).toMatchObject({ em: 1, score: 1 });
    expect(report.primary).toBe('adapter+rag');
    // The held-out phrasing (sample b) on its own: the adapter generalised, the base did not.
    expect(by.adapter).toMatchObject({ heldout_em: 1, heldout_f1: 1 });
    expect(by.base).toMatchObject({ heldout_em: 0 });
    expect(report).toMatchObject({ samples: 3, answerable: 2, refusal_samples: 1 });
    expect(report.notes.join('\n')).toContain('2 test lines could not be used');
    expect(results).toHaveLength(12);
    // The grounded prompt is the chat server's: passages + question.
    const ragRequest = server.requests.find((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes('Context passages'));
    expect(JSON.stringify(ragRequest!.body)).toContain('华为总部位于深圳');

    const files = writeReport(path.join(dir, 'out'), report, results);
    expect(JSON.parse(fs.readFileSync(files.json, 'utf8')).settings).toHaveLength(4);
    expect(fs.readFileSync(files.predictions, 'utf8').trim().split('\n')).toHaveLength(12);
    const md = renderMarkdown(report);
    expect(md).toContain('| adapter+rag | cand | 100.0 | 100.0 | 100.0 | 100.0 | 100.0 | 0.0 | 3/3 | 0 |');
    expect(md).toContain('| base+rag | base | 33.3 | 50.0 | 50.0 | 50.0 | 0.0 | 0.0 | 3/3 | 0 |');
    expect(md).toContain('- adapter: EM 100.0, F1 100.0');
  });

  it('reports the rag settings as skipped when retrieval is unavailable, and request errors per setting', async () => {
    const file = findSplitFile(dir, 'test', 'records');
    const { samples } = readEvalSamples(file);
    const { report } = await runEval({
      run: 'r1', adapter: 'missing', baseModel: 'base', incumbent: null, testFile: file, samples, rejected: [],
      models: [model('base', 'base'), model('adapter', 'missing')],
      retriever: null, retrievalUnavailable: 'no index', config, topK: 5, maxTokens: 64, concurrency: 1,
    });
    const by = Object.fromEntries(report.settings.map((s) => [s.setting, s]));
    expect(by['base+rag']).toMatchObject({ status: 'skipped', skipped_reason: 'no index' });
    expect(by.adapter).toMatchObject({ errors: 3, scored: 0, score: null });
    expect(report.primary).toBe('adapter');
    expect(report.notes.join('\n')).toMatch(/adapter: 3 of 3 requests failed/);
  });
});

import type { ChatMessage, ChatModel } from '../../src/llm/chat-model.ts';
import { buildGroundedMessages, packContext, type ContextBlock } from '../../src/llm/prompt.ts';
import type { Retriever } from '../../src/retrieval/types.ts';
import type { EvalSample, Rejected } from './dataset.ts';
import { compileRefusalPatterns, isRefusal } from './refusal.ts';
import { aggregate, skipped, type SampleResult } from './report.ts';
import type { EvalReport, SettingName, SettingResult } from './report-types.ts';
import { scoreAnswer, stripReasoning } from './scoring.ts';

// Asks every held-out question of each model (base, candidate adapter, and the active adapter
// when there is one), each without and with retrieval, and scores the answers.
//
// Without retrieval the sample's own prompt is sent, as it was trained. With retrieval the
// question is answered the way the chat server does it: retrieved passages packed into the
// assistant's grounded prompt (src/llm/prompt.ts). RAFT samples already carry passages in their
// prompt, so they are sent as-is in both settings.

export interface EvalModel {
  /** base | adapter | active */
  role: 'base' | 'adapter' | 'active';
  /** Model name at the upstream (base model, or the LoRA adapter's served name). */
  name: string;
  chat: ChatModel;
}

export interface RunEvalOptions {
  run: string;
  adapter: string;
  baseModel: string;
  incumbent: string | null;
  testFile: string;
  samples: EvalSample[];
  rejected: Rejected[];
  models: EvalModel[];
  /** null = retrieval unavailable: the +rag settings are reported as skipped with this reason. */
  retriever: Retriever | null;
  retrievalUnavailable?: string;
  topK: number;
  /** Token budget for packed context passages. */
  contextTokens: number;
  persona: string;
  instructionsIn: 'system' | 'user';
  maxTokens: number;
  temperature?: number;
  concurrency: number;
  refusalPatterns?: string[];
  onProgress?(done: number, total: number): void;
  now?: () => Date;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

export async function runEval(opts: RunEvalOptions): Promise<{ report: EvalReport; results: SampleResult[] }> {
  const patterns = compileRefusalPatterns(opts.refusalPatterns);
  const notes: string[] = [];
  if (opts.rejected.length) notes.push(`${opts.rejected.length} test lines could not be used: ${opts.rejected.slice(0, 5).map((r) => `${r.locator} (${r.reason})`).join('; ')}${opts.rejected.length > 5 ? '; …' : ''}`);
  const grounded = opts.samples.filter((s) => s.grounded).length;
  if (grounded) notes.push(`${grounded} RAFT samples carry their passages in the prompt and are asked as-is in every setting`);

  // Retrieval once per question, shared by every model.
  const contexts = new Map<string, ContextBlock[]>();
  let retrievalError: string | null = opts.retriever ? null : (opts.retrievalUnavailable ?? 'no retriever');
  if (opts.retriever) {
    const degraded = new Set<string>();
    try {
      for (const s of opts.samples) {
        if (s.grounded || contexts.has(s.question)) continue;
        const res = await opts.retriever.retrieve({ query: s.question, topK: opts.topK, groups: null });
        res.degraded.forEach((d) => degraded.add(d));
        contexts.set(s.question, packContext(res.hits, opts.contextTokens).blocks);
      }
    } catch (err) {
      retrievalError = `retrieval failed: ${(err as Error).message}`;
    }
    if (degraded.size) notes.push(`retrieval ran degraded: ${[...degraded].join('; ')}`);
  }
  if (retrievalError) notes.push(`settings with retrieval skipped: ${retrievalError}`);

  const promptFor = (s: EvalSample, rag: boolean): ChatMessage[] => {
    if (!rag || s.grounded) return s.prompt;
    const persona = opts.persona || s.prompt.find((m) => m.role === 'system')?.content || '';
    return buildGroundedMessages({ question: s.question, history: [], blocks: contexts.get(s.question) ?? [], persona, clientInstructions: [], instructionsIn: opts.instructionsIn });
  };

  const jobs: { model: EvalModel; setting: SettingName; rag: boolean; sample: EvalSample }[] = [];
  const plan: { model: EvalModel; setting: SettingName; rag: boolean }[] = [];
  for (const model of opts.models) {
    for (const rag of [false, true]) {
      const setting = `${model.role}${rag ? '+rag' : ''}` as SettingName;
      plan.push({ model, setting, rag });
      if (rag && retrievalError) continue;
      for (const sample of opts.samples) jobs.push({ model, setting, rag, sample });
    }
  }

  const results: SampleResult[] = [];
  let done = 0;
  await pool(jobs, opts.concurrency, async (job) => {
    let prediction = '';
    let error: string | null = null;
    try {
      const res = await job.model.chat.complete({ messages: promptFor(job.sample, job.rag), maxTokens: opts.maxTokens, temperature: opts.temperature ?? 0 });
      prediction = stripReasoning(res.content);
    } catch (err) {
      error = (err as Error).message;
    }
    const s = error == null ? scoreAnswer(prediction, job.sample.references) : { em: 0, f1: 0, rougeL: 0 };
    results.push({ id: job.sample.id, setting: job.setting, refusalSample: job.sample.refusal, prediction, error, ...s, refused: error == null && isRefusal(prediction, patterns) });
    opts.onProgress?.(++done, jobs.length);
  });

  const order = new Map(opts.samples.map((s, i) => [s.id, i]));
  results.sort((a, b) => a.setting.localeCompare(b.setting) || (order.get(a.id)! - order.get(b.id)!));
  const settings: SettingResult[] = plan.map(({ model, setting, rag }) =>
    rag && retrievalError ? skipped(setting, model.name, true, retrievalError) : aggregate(setting, model.name, rag, results.filter((r) => r.setting === setting)),
  );
  for (const s of settings) if (s.errors > 0) notes.push(`${s.setting}: ${s.errors} of ${s.n} requests failed (first: ${results.find((r) => r.setting === s.setting && r.error)?.error})`);

  const report: EvalReport = {
    version: 1,
    run: opts.run,
    adapter: opts.adapter,
    base_model: opts.baseModel,
    incumbent: opts.incumbent,
    test_file: opts.testFile,
    samples: opts.samples.length,
    answerable: opts.samples.filter((s) => !s.refusal).length,
    refusal_samples: opts.samples.filter((s) => s.refusal).length,
    created_at: (opts.now ?? (() => new Date()))().toISOString(),
    settings,
    primary: retrievalError ? 'adapter' : 'adapter+rag',
    notes,
  };
  return { report, results };
}

import { AnswerService, type AnswerInput } from '../../src/answer/service.ts';
import type { Config } from '../../src/config/index.ts';
import type { Assistant } from '../../src/llm/assistants.ts';
import { silentLogger } from '../../src/log/index.ts';
import type { Retriever, RetrieveRequest, RetrieveResult } from '../../src/retrieval/types.ts';
import type { EvalSample, Rejected } from './dataset.ts';
import { compileRefusalPatterns, isRefusal } from './refusal.ts';
import { aggregate, skipped, type SampleResult } from './report.ts';
import type { EvalReport, SettingName, SettingResult } from './report-types.ts';
import { scoreAnswer } from './scoring.ts';

// Asks every held-out question of each model (base, candidate adapter, and the active adapter
// when there is one), each without and with retrieval, and scores the answers.
//
// Every question goes through the chat server's answer pipeline (src/answer/service.ts) with the
// assistant's settings: with retrieval it is the question a client would send (rewrite, the
// chat's retriever defaults, the assistant's context budget, grounded prompt, <think> split by
// the chat model); without retrieval the sample's own prompt is sent as a client would with
// `kb.retrieval: false`, as it was trained. RAFT samples already carry passages in their prompt,
// so they are sent as-is in both settings.

export interface EvalModel {
  /** base | adapter | active */
  role: 'base' | 'adapter' | 'active';
  /** Model name at the upstream (base model, or the LoRA adapter's served name). */
  name: string;
  /** The assistant's settings with a chat model for `name` (no adapter fallback: a missing model must fail). */
  assistant: Assistant;
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
  /** The chat server's sections the pipeline reads (retrieval defaults, snippets, rewrite). */
  config: Pick<Config, 'chat' | 'retrieval' | 'limits'>;
  /** null = retrieval unavailable: the +rag settings are reported as skipped with this reason. */
  retriever: Retriever | null;
  retrievalUnavailable?: string;
  /** Passages per question, as a client's kb.top_k; undefined = the chat default (retrieval.top_k). */
  topK?: number;
  /** Answer budget per question, as a client's max_tokens. */
  maxTokens: number;
  temperature?: number;
  concurrency: number;
  refusalPatterns?: string[];
  onProgress?(done: number, total: number): void;
  now?: () => Date;
}

/** The same query is retrieved once for every model (retrieval is deterministic; the answers differ). */
function memoRetriever(inner: Retriever): Retriever {
  const cache = new Map<string, Promise<RetrieveResult>>();
  return {
    retrieve(req: RetrieveRequest) {
      const key = JSON.stringify(req);
      let hit = cache.get(key);
      if (!hit) {
        hit = inner.retrieve(req);
        cache.set(key, hit);
      }
      return hit;
    },
  };
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

  const retrievalError: string | null = opts.retriever ? null : (opts.retrievalUnavailable ?? 'no retriever');
  if (retrievalError) notes.push(`settings with retrieval skipped: ${retrievalError}`);
  const degraded = new Set<string>();
  const retriever = opts.retriever ? memoRetriever(opts.retriever) : null;
  const answers = retriever
    ? new AnswerService({
        config: opts.config,
        retriever: {
          async retrieve(req) {
            const r = await retriever.retrieve(req);
            r.degraded.forEach((d) => degraded.add(d));
            return r;
          },
        },
      })
    : new AnswerService({ config: opts.config, retriever: { retrieve: () => Promise.reject(new Error(retrievalError ?? 'no retriever')) } });

  const inputFor = (model: EvalModel, s: EvalSample, rag: boolean): AnswerInput => ({
    assistant: model.assistant,
    messages: rag && !s.grounded ? [{ role: 'user', content: s.question }] : s.prompt,
    groups: null,
    kb: { retrieval: rag && !s.grounded, topK: opts.topK },
    maxTokens: opts.maxTokens,
    temperature: opts.temperature ?? 0,
    log: silentLogger,
    // An unavailable model is an error here, never an extractive answer scored as the model's.
    extractiveOnUpstreamError: false,
  });

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
    let citations: number[] = [];
    let error: string | null = null;
    try {
      const a = await answers.answer(inputFor(job.model, job.sample, job.rag));
      if (!a) throw new Error('aborted');
      if (a.outcome.mode !== 'generated') throw new Error(`no generated answer (${a.outcome.mode})`);
      prediction = a.outcome.content;
      citations = a.citations.map((c) => c.doc_id);
    } catch (err) {
      error = (err as Error).message;
    }
    const s = error == null ? scoreAnswer(prediction, job.sample.references) : { em: 0, f1: 0, rougeL: 0 };
    results.push({ id: job.sample.id, setting: job.setting, refusalSample: job.sample.refusal, heldout: job.sample.heldout, prediction, citations, error, ...s, refused: error == null && isRefusal(prediction, patterns) });
    opts.onProgress?.(++done, jobs.length);
  });

  const order = new Map(opts.samples.map((s, i) => [s.id, i]));
  results.sort((a, b) => a.setting.localeCompare(b.setting) || (order.get(a.id)! - order.get(b.id)!));
  const settings: SettingResult[] = plan.map(({ model, setting, rag }) =>
    rag && retrievalError ? skipped(setting, model.name, true, retrievalError) : aggregate(setting, model.name, rag, results.filter((r) => r.setting === setting)),
  );
  if (degraded.size) notes.push(`retrieval ran degraded: ${[...degraded].join('; ')}`);
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

import path from 'node:path';
import type { Config } from '../../src/config/index.ts';
import type { AssistantConfig } from '../../src/config/sections/chat.ts';
import type { ChatModel } from '../../src/llm/chat-model.ts';
import type { Retriever } from '../../src/retrieval/types.ts';
import type { DB } from '../../src/store/index.ts';
import { listServedModels, loadLoraAdapter, servingInstructions, type UpstreamTarget } from '../registry/deploy.ts';
import { activeAdapter, setEvalReport, type AdapterRecord } from '../registry/index.ts';
import { registerRunAdapter } from '../runs/service.ts';
import type { RunRecord } from '../runs/store.ts';
import { findSplitFile, readEvalSamples } from './dataset.ts';
import { writeReport } from './report.ts';
import type { EvalReport } from './report-types.ts';
import { runEval, type EvalModel } from './runner.ts';

// `kb finetune eval --run RUN`: makes sure the candidate (and the active adapter, for a fair
// gate) are served by the upstream, asks the test split, writes <run>/eval/report.{json,md} and
// predictions.jsonl, and stores the report on the adapter for the promotion gate.

export interface EvaluateRunOptions {
  db: DB;
  run: RunRecord;
  assistant: string;
  target: UpstreamTarget;
  /** Base model name at the upstream (the assistant's `model`). */
  baseModelName: string;
  /** A chat client for one model name at the upstream (no adapter fallback: a missing model must fail). */
  chatFor(model: string): ChatModel;
  /** The assistant's id and settings: the same prompt, budget and <think> handling as chat. */
  assistantSettings: AssistantConfig;
  /** The chat server's sections the answer pipeline reads (retrieval defaults, snippets, rewrite). */
  config: Pick<Config, 'chat' | 'retrieval' | 'limits'>;
  retriever: Retriever | null;
  retrievalUnavailable?: string;
  maxTokens: number;
  /** undefined = the chat default (retrieval.top_k). */
  topK?: number;
  concurrency: number;
  /** 0 = all test samples. */
  maxSamples: number;
  refusalPatterns: string[];
  testFile?: string;
  onProgress?(done: number, total: number): void;
}

export interface EvaluateRunResult {
  report: EvalReport;
  adapter: AdapterRecord;
  files: { json: string; markdown: string; predictions: string };
}

/** Served already, or loaded now through the runtime endpoint; false when neither. */
async function ensureServed(target: UpstreamTarget, served: string[], a: AdapterRecord): Promise<boolean> {
  if (served.includes(a.version)) return true;
  const r = await loadLoraAdapter(target, a.version, a.path);
  return r.ok;
}

export async function evaluateRun(opts: EvaluateRunOptions): Promise<EvaluateRunResult> {
  const { db, run } = opts;
  if (run.status !== 'succeeded') throw new Error(`run "${run.name}" has status ${run.status}: only a succeeded run can be evaluated`);
  const adapter = registerRunAdapter(db, run)!;
  const served = await listServedModels(opts.target);
  if (!served.includes(opts.baseModelName)) throw new Error(`the upstream does not serve the base model "${opts.baseModelName}" (served: ${served.join(', ') || 'none'})`);
  if (!(await ensureServed(opts.target, served, adapter))) {
    throw new Error(`the upstream does not serve adapter "${adapter.version}" and has no runtime LoRA loading. Serve it, then rerun:\n${servingInstructions(adapter).join('\n')}`);
  }

  const assistantFor = (model: string) => ({ id: opts.assistant, settings: opts.assistantSettings, model: opts.chatFor(model) });
  const models: EvalModel[] = [
    { role: 'base', name: opts.baseModelName, assistant: assistantFor(opts.baseModelName) },
    { role: 'adapter', name: adapter.version, assistant: assistantFor(adapter.version) },
  ];
  const notes: string[] = [];
  const incumbent = activeAdapter(db, opts.assistant);
  let incumbentName: string | null = null;
  if (incumbent && incumbent.id !== adapter.id) {
    if (await ensureServed(opts.target, served, incumbent)) {
      models.push({ role: 'active', name: incumbent.version, assistant: assistantFor(incumbent.version) });
      incumbentName = incumbent.version;
    } else {
      notes.push(`the active adapter ${incumbent.version} is not served: the gate falls back to its own eval report`);
    }
  }

  const datasetDir = typeof run.config.metadata.dataset_dir === 'string' ? run.config.metadata.dataset_dir : path.dirname(run.config.data.train);
  const testFile = opts.testFile ?? findSplitFile(datasetDir, 'test', 'records');
  const { samples, rejected } = readEvalSamples(testFile);
  if (samples.length === 0) throw new Error(`${testFile}: no usable test samples${rejected.length ? ` (${rejected.length} rejected, first: ${rejected[0].locator} ${rejected[0].reason})` : ''}`);
  const chosen = opts.maxSamples > 0 ? samples.slice(0, opts.maxSamples) : samples;
  if (chosen.length < samples.length) notes.push(`asked the first ${chosen.length} of ${samples.length} test samples (finetune_runs.eval.max_samples)`);

  const { report, results } = await runEval({
    run: run.name,
    adapter: adapter.version,
    baseModel: opts.baseModelName,
    incumbent: incumbentName,
    testFile,
    samples: chosen,
    rejected,
    models,
    retriever: opts.retriever,
    retrievalUnavailable: opts.retrievalUnavailable,
    config: opts.config,
    topK: opts.topK,
    maxTokens: opts.maxTokens,
    concurrency: opts.concurrency,
    refusalPatterns: opts.refusalPatterns,
    onProgress: opts.onProgress,
  });
  report.notes.unshift(...notes);
  const files = writeReport(path.join(run.path, 'eval'), report, results);
  setEvalReport(db, adapter.version, report);
  return { report, adapter: { ...adapter, evalReport: report }, files };
}

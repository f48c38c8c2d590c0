import type { Config } from '../../src/config/index.ts';
import { ConfigError } from '../../src/config/index.ts';
import type { AssistantConfig } from '../../src/config/sections/chat.ts';
import { chatModelFor } from '../../src/llm/factory.ts';
import type { Logger } from '../../src/log/index.ts';
import { openRetriever } from '../../src/retrieval/open.ts';
import type { DB } from '../../src/store/index.ts';
import type { UpstreamTarget } from '../registry/deploy.ts';
import { requireRun } from '../runs/store.ts';
import { evaluateRun, type EvaluateRunResult } from './evaluate-run.ts';

// `kb finetune eval` (and the semiannual job's eval step) composed from configuration: the
// assistant's upstream and settings, the chat model factory, the index's retriever.

/** The assistant's upstream as a deploy/eval target, or null when it has none. */
export function assistantTarget(config: Config, assistant: string): { settings: AssistantConfig; upstreamName: string; target: UpstreamTarget | null } {
  const settings = config.assistants[assistant];
  if (!settings) throw new ConfigError(`unknown assistant "${assistant}" (configured: ${Object.keys(config.assistants).join(', ')})`);
  if (!settings.upstream) return { settings, upstreamName: '', target: null };
  const up = config.upstreams[settings.upstream];
  if (!up) throw new ConfigError(`assistants.${assistant}.upstream: unknown upstream "${settings.upstream}"`);
  return { settings, upstreamName: settings.upstream, target: { baseUrl: up.base_url, apiKey: up.api_key, timeoutMs: up.timeout_ms } };
}

export interface EvalForAssistantOptions {
  run: string;
  assistant?: string;
  maxSamples?: number;
  /** false: skip the settings with retrieval. */
  retrieval: boolean;
  test?: string;
  onProgress?(done: number, total: number): void;
}

export async function evaluateForAssistant(config: Config, db: DB, log: Logger, opts: EvalForAssistantOptions): Promise<EvaluateRunResult> {
  const assistant = opts.assistant ?? config.finetune_runs.assistant;
  const { settings, upstreamName, target } = assistantTarget(config, assistant);
  if (!target) throw new Error(`assistant "${assistant}" has no upstream: eval needs an OpenAI-compatible server (assistants.${assistant}.upstream)`);
  let retriever: Awaited<ReturnType<typeof openRetriever>> | null = null;
  let retrievalUnavailable: string | undefined;
  if (opts.retrieval) {
    try {
      retriever = await openRetriever(config, db, log);
    } catch (e) {
      retrievalUnavailable = `retriever unavailable: ${(e as Error).message}`;
    }
  } else retrievalUnavailable = 'disabled with --no-retrieval';
  try {
    const ev = config.finetune_runs.eval;
    return await evaluateRun({
      db,
      run: requireRun(db, opts.run),
      assistant,
      target,
      baseModelName: settings.model,
      // The factory the server uses, without adapter fallback: a model the upstream lacks must fail.
      chatFor: (model) => chatModelFor(config, upstreamName, { model, thinkStartsOpen: settings.think_starts_open }, log),
      assistantSettings: settings,
      config,
      retriever: retriever?.retriever ?? null,
      retrievalUnavailable,
      maxTokens: ev.max_tokens,
      topK: ev.top_k ?? undefined,
      concurrency: ev.concurrency,
      maxSamples: opts.maxSamples ?? ev.max_samples,
      refusalPatterns: ev.refusal_patterns,
      testFile: opts.test,
      onProgress: opts.onProgress,
    });
  } finally {
    await retriever?.close();
  }
}

import type { Config } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import type { Assistant } from '../llm/assistants.ts';
import { UpstreamError, type ChatMessage, type GenerateParams, type Usage } from '../llm/chat-model.ts';
import { extractiveAnswer, type ExtractiveReason } from '../llm/extractive.ts';
import { buildGroundedMessages, citationsFor, fitHistory, messagesTokens, packContext, toCitation, type Citation, type ContextBlock } from '../llm/prompt.ts';
import { standaloneQuestion, type RewriteResult } from '../llm/rewrite.ts';
import { estimateTokens } from '../llm/tokens.ts';
import { clipQuery } from '../text/clip-query.ts';
import type { RetrievalHit, Retriever, RetrieveRequest } from '../retrieval/types.ts';

// The one answer pipeline: given messages, an assistant and the caller's groups it rewrites a
// follow-up into a standalone question, retrieves, packs the context into the assistant's
// budget, builds the grounded prompt, calls the chat model and post-processes the answer
// (citations, extractive fallback). POST /v1/chat/completions and `kb finetune eval` both call
// it, so the promotion gate scores exactly the answers users get.

/** A request the pipeline cannot serve; `code`/`param` follow OpenAI's error shape. */
export class AnswerError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid_request' | 'context_length_exceeded' | 'upstream_timeout' | 'upstream_rejected' | 'upstream_unavailable' | 'upstream_malformed_response',
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'AnswerError';
  }
}

export interface AnswerDeps {
  config: Pick<Config, 'chat' | 'retrieval' | 'limits'>;
  retriever: Retriever;
  /** Defence in depth on the hits before they reach a prompt (the server's ACL check). */
  checkHits?(hits: RetrievalHit[], groups: string[] | null, log: Logger): RetrievalHit[];
  onRetrieval?(timings: Record<string, number>): void;
}

export interface AnswerInput {
  assistant: Assistant;
  /** system / user / assistant turns, text only (the route maps developer → system). */
  messages: ChatMessage[];
  /** The caller's ACL groups (null = unrestricted). */
  groups: string[] | null;
  kb?: { topK?: number; filters?: RetrieveRequest['filters']; retrieval?: boolean; mode?: RetrieveRequest['mode'] };
  /** The client's explicit max_tokens; absent = the assistant's answer_tokens. */
  maxTokens?: number | null;
  temperature?: number;
  topP?: number;
  stop?: string[];
  signal?: AbortSignal;
  log: Logger;
  /** Answer extractively when the upstream is unavailable (default: chat.on_upstream_error). */
  extractiveOnUpstreamError?: boolean;
}

export interface Prepared {
  question: string;
  query: string;
  rewrite: RewriteResult['method'];
  retrieval: boolean;
  blocks: ContextBlock[];
  omitted: number;
  messages: ChatMessage[];
  degraded: string[];
  answerBudget: number;
}

export type Outcome =
  | { mode: 'generated'; content: string; reasoning: string; finishReason: string; usage: Usage | null; fallback: boolean; upstreamModel: string; usageProblem?: string }
  | { mode: 'extractive'; content: string; quoted: ContextBlock[]; finishReason: string; degradedReason: string | null; degradedHeader?: string };

export interface Answer {
  prepared: Prepared;
  outcome: Outcome;
  citations: Citation[];
  /** Seconds the upstream took (null: extractive). */
  upstreamSeconds: number | null;
}

const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

export class AnswerService {
  constructor(private readonly deps: AnswerDeps) {}

  /** The answer budget: the client's max_tokens, else the assistant's; must leave room for a prompt. */
  answerBudget(input: Pick<AnswerInput, 'assistant' | 'maxTokens'>): number {
    const settings = input.assistant.settings;
    const budget = input.maxTokens ?? settings.answer_tokens;
    if (budget >= settings.context_tokens) {
      throw new AnswerError(`max_tokens (${budget}) must be less than the model's context of ${settings.context_tokens} tokens.`, 'invalid_request', 'max_tokens');
    }
    return budget;
  }

  /** Question, retrieval and the prompt within the budget. */
  async prepare(input: AnswerInput): Promise<Prepared> {
    const { assistant, log } = input;
    const answerBudget = this.answerBudget(input);
    const clientSystem = input.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const turns = input.messages.filter((m) => m.role !== 'system');
    const last = turns[turns.length - 1];
    if (!last || last.role !== 'user') throw new AnswerError('messages: the last non-system message must be a user message (the question).', 'invalid_request', 'messages');
    const question = last.content.trim();
    if (!question) throw new AnswerError('messages: the last user message is empty.', 'invalid_request', 'messages');

    if (input.kb?.retrieval === false) {
      return { question, query: question, rewrite: 'none', retrieval: false, blocks: [], omitted: 0, messages: input.messages, degraded: [], answerBudget };
    }

    // Budget: the model's context minus the answer budget holds instructions, history, context,
    // question. Checked before retrieval, so a question that cannot fit costs no search.
    const settings = assistant.settings;
    const available = settings.context_tokens - answerBudget;
    const promptOf = (history: ChatMessage[], blocks: ContextBlock[]) =>
      buildGroundedMessages({ question, history, blocks, persona: settings.system_prompt, clientInstructions: clientSystem, instructionsIn: settings.instructions_in });
    const shell = messagesTokens(promptOf([], []));
    if (shell > available) {
      throw new AnswerError(`The question and instructions need about ${shell} tokens, more than the ${available} the model's context leaves after the answer budget of ${answerBudget}.`, 'context_length_exceeded', 'messages');
    }
    const rewrite = await standaloneQuestion(turns, { model: assistant.model, enabled: this.deps.config.chat.rewrite_followups, signal: input.signal });
    if (rewrite.error) log.warn({ err: rewrite.error }, 'follow-up rewrite with the model failed; used the previous question instead');
    const query = clipQuery(rewrite.query, this.deps.config.limits);
    if (query.length < rewrite.query.length) log.debug({ chars: rewrite.query.length, kept: query.length }, 'retrieval query clipped to limits.max_query_chars');
    const result = await this.deps.retriever.retrieve({
      query,
      topK: input.kb?.topK ?? this.deps.config.retrieval.top_k,
      filters: input.kb?.filters,
      groups: input.groups,
      mode: input.kb?.mode,
    });
    this.deps.onRetrieval?.(result.timings);
    const hits = this.deps.checkHits ? this.deps.checkHits(result.hits, input.groups, log) : result.hits;

    // History gets at most a quarter of the room: retrieved context matters more for a grounded answer.
    const history = fitHistory(turns.slice(0, -1), Math.floor((available - shell) / 4));
    const contextBudget = available - messagesTokens(promptOf(history, []));
    const packed = packContext(hits, contextBudget);
    log.debug({ query, rewrite: rewrite.method, hits: hits.length, blocks: packed.blocks.length, omitted: packed.omitted, context_tokens: packed.tokens }, 'context packed');
    return {
      question,
      query,
      rewrite: rewrite.method,
      retrieval: true,
      blocks: packed.blocks,
      omitted: packed.omitted,
      messages: promptOf(history, packed.blocks),
      degraded: result.degraded,
      answerBudget,
    };
  }

  /** What the chat model is called with. */
  generateParams(input: AnswerInput, p: Prepared): GenerateParams {
    return { messages: p.messages, maxTokens: p.answerBudget, temperature: input.temperature, topP: input.topP, stop: input.stop, signal: input.signal };
  }

  /** The answer without a generator: quoted passages (honouring an explicit max_tokens by the estimate). */
  extractive(input: AnswerInput, p: Prepared, reason: ExtractiveReason): Outcome {
    const cfg = this.deps.config.chat;
    const ans = extractiveAnswer({
      // Passage selection scores every query term against every sentence: bound the question like the retrieval query.
      question: clipQuery(p.question, this.deps.config.limits),
      blocks: p.blocks,
      reason: p.retrieval ? reason : { kind: 'retrieval_disabled' },
      maxPassages: cfg.extractive_passages,
      excerptChars: cfg.snippet_chars * 2,
    });
    let content = ans.content;
    let finishReason = 'stop';
    if (input.maxTokens && estimateTokens(content) > input.maxTokens) {
      while (content.length > 0 && estimateTokens(content) > input.maxTokens) content = content.slice(0, Math.floor(content.length * 0.9));
      finishReason = 'length';
    }
    return { mode: 'extractive', content, quoted: ans.quoted, finishReason, degradedReason: reason.kind === 'upstream_unavailable' ? reason.detail : null };
  }

  /** Upstream failure → extractive answer (when allowed) or an AnswerError. Null when the caller left. */
  onUpstreamError(input: AnswerInput, p: Prepared, err: unknown): Outcome | null {
    if (!(err instanceof UpstreamError)) throw err;
    if (err.kind === 'aborted') return null;
    input.log.warn({ kind: err.kind, status: err.status, err: err.message, assistant: input.assistant.id }, 'upstream model call failed');
    const fallback = input.extractiveOnUpstreamError ?? this.deps.config.chat.on_upstream_error === 'extractive';
    if (err.unavailable && fallback) {
      const { detail, header } = upstreamFailureDetail(err);
      const out = this.extractive(input, p, { kind: 'upstream_unavailable', detail });
      if (out.mode === 'extractive') out.degradedHeader = header;
      return out;
    }
    const id = input.assistant.id;
    if (err.kind === 'malformed') throw new AnswerError(`The model server sent an invalid answer (${id}): ${err.message}`, 'upstream_malformed_response');
    if (err.kind === 'timeout') throw new AnswerError(`The model server did not answer in time (${id}): ${err.message}`, 'upstream_timeout');
    if (err.kind === 'rejected') throw new AnswerError(`The model server rejected the request (${id}): ${err.message}`, 'upstream_rejected');
    throw new AnswerError(`The model server is unavailable (${id}): ${err.message}`, 'upstream_unavailable');
  }

  citations(p: Prepared, out: Outcome): Citation[] {
    const chars = this.deps.config.chat.snippet_chars;
    if (out.mode === 'extractive') return out.quoted.map((b) => toCitation(b, p.query, chars));
    return citationsFor(out.content, p.blocks, p.query, chars);
  }

  /**
   * The whole pipeline, non-streaming. Null when the caller went away (aborted). `onUpstreamFailure`
   * sees the failed call's duration (metrics).
   */
  async answer(input: AnswerInput, hooks: { onUpstreamFailure?(err: unknown, seconds: number): void } = {}): Promise<Answer | null> {
    const prepared = await this.prepare(input);
    if (input.signal?.aborted) return null;
    const model = input.assistant.model;
    let outcome: Outcome | null;
    let upstreamSeconds: number | null = null;
    if (!model) outcome = this.extractive(input, prepared, { kind: 'no_generator' });
    else {
      const t = process.hrtime.bigint();
      try {
        // The model splits <think> reasoning from the answer (think-filter): content is the answer.
        const r = await model.complete(this.generateParams(input, prepared));
        upstreamSeconds = since(t);
        outcome = { mode: 'generated', content: r.content, reasoning: r.reasoning, finishReason: r.finishReason, usage: r.usage, fallback: r.fallback, upstreamModel: r.model, usageProblem: r.usageProblem };
      } catch (err) {
        hooks.onUpstreamFailure?.(err, since(t));
        outcome = this.onUpstreamError(input, prepared, err);
      }
    }
    if (!outcome) return null;
    return { prepared, outcome, citations: this.citations(prepared, outcome), upstreamSeconds };
  }
}

/** The detail an extractive fallback states, and the X-KB-Degraded token, for each upstream failure. */
function upstreamFailureDetail(err: UpstreamError): { detail: string; header: string } {
  switch (err.kind) {
    case 'timeout':
      return { detail: 'timeout', header: 'upstream-unavailable' };
    case 'unreachable':
      return { detail: 'unreachable', header: 'upstream-unavailable' };
    case 'malformed':
      return { detail: err.message, header: 'upstream-malformed' };
    default:
      return { detail: `upstream error${err.status ? ` ${err.status}` : ''}`, header: 'upstream-unavailable' };
  }
}

/** The OpenAI-shape error code for an upstream failure. */
export function upstreamErrorCode(kind: string): string {
  return kind === 'timeout' ? 'upstream_timeout' : kind === 'malformed' ? 'upstream_malformed_response' : kind === 'rejected' ? 'upstream_rejected' : 'upstream_unavailable';
}

/** The `kb` block of a response: how the answer was made. */
export function kbInfo(p: Prepared, out: Outcome) {
  return {
    mode: out.mode,
    query: p.query,
    rewrite: p.rewrite,
    retrieval: p.retrieval,
    context_blocks: p.blocks.length,
    omitted_hits: p.omitted,
    fallback: out.mode === 'generated' && out.fallback ? 'base-model' : null,
    upstream_model: out.mode === 'generated' ? out.upstreamModel : null,
    degraded: [...p.degraded, ...(out.mode === 'extractive' && out.degradedReason ? [`generator: ${out.degradedReason}`] : [])],
  };
}

/** Token usage: the upstream's when it reported it, else the estimate. */
export function usageOf(p: Prepared, out: Outcome): { prompt_tokens: number; completion_tokens: number; total_tokens: number; source: 'upstream' | 'estimate' } {
  if (out.mode === 'generated' && out.usage) {
    const u = out.usage;
    return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens, source: 'upstream' };
  }
  const prompt = out.mode === 'generated' ? messagesTokens(p.messages) : 0;
  const completion = estimateTokens(out.content) + (out.mode === 'generated' ? estimateTokens(out.reasoning) : 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, source: 'estimate' };
}

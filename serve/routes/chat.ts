import crypto from 'node:crypto';
import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Assistant } from '../../src/llm/assistants.ts';
import { UpstreamError, type ChatMessage, type ChatStream, type Usage } from '../../src/llm/chat-model.ts';
import { extractiveAnswer, type ExtractiveReason } from '../../src/llm/extractive.ts';
import {
  buildGroundedMessages,
  citationsFor,
  fitHistory,
  messagesTokens,
  packContext,
  toCitation,
  type Citation,
  type ContextBlock,
} from '../../src/llm/prompt.ts';
import { standaloneQuestion, type RewriteResult } from '../../src/llm/rewrite.ts';
import { estimateTokens } from '../../src/llm/tokens.ts';
import { enforceAcl } from '../acl-guard.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { checkMessageChars, checkMessageCount, clipQuery } from '../limits.ts';
import { routeLabel, state, type RequestState } from '../state.ts';
import { filtersSchema, modeSchema, parseBody, toFilters } from '../validation.ts';

// POST /v1/chat/completions — OpenAI-compatible, grounded in retrieved context, with citations.

const textPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
    name: z.string().optional(),
  })
  .passthrough();

const kbOptions = z
  .object({
    top_k: z.number().int().min(1).max(50).optional(),
    filters: filtersSchema.optional(),
    /** false: plain chat with the model, no retrieval and no grounding prompt. */
    retrieval: z.boolean().optional(),
    mode: modeSchema.optional(),
  })
  .strict();

const tokens = z.number().int().positive().nullable().optional();

// Unknown OpenAI parameters (user, presence_penalty, …) pass through unused; those that would
// change the answer's shape in a way we cannot honour are refused below.
const chatBody = z
  .object({
    model: z.string().min(1),
    // Count and length are bounded by config `limits` (serve/limits.ts), checked around this schema.
    messages: z.array(messageSchema).min(1),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
    max_tokens: tokens,
    max_completion_tokens: tokens,
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullable().optional(),
    n: z.literal(1, 'only n = 1 is supported').nullable().optional(),
    tools: z.array(z.unknown()).max(0, 'tools are not supported by this server').nullable().optional(),
    kb: kbOptions.optional(),
  })
  .passthrough();
type ChatBody = z.infer<typeof chatBody>;

const contentText = (c: z.infer<typeof messageSchema>['content']): string =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => p.text).join('\n') : '';

interface Prepared {
  question: string;
  query: string;
  rewrite: RewriteResult['method'];
  retrieval: boolean;
  blocks: ContextBlock[];
  omitted: number;
  messages: ChatMessage[];
  degraded: string[];
}

type Outcome =
  | { mode: 'generated'; content: string; reasoning: string; finishReason: string; usage: Usage | null; fallback: boolean; upstreamModel: string }
  | { mode: 'extractive'; content: string; quoted: ContextBlock[]; finishReason: string; degradedReason: string | null; degradedHeader?: string };

interface Ctx {
  deps: AppDeps;
  s: RequestState;
  body: ChatBody;
  assistant: Assistant;
  answerBudget: number;
  stop: string[] | undefined;
  signal: AbortSignal;
}

export function chatRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  r.post('/chat/completions', routeLabel('/v1/chat/completions'), ...guard, async (req, res) => {
    const s = state(res);
    const limits = deps.config.limits;
    checkMessageCount(req.body, limits);
    const body = parseBody(chatBody, req.body);
    checkMessageChars(body.messages.map((m) => contentText(m.content)), limits);
    const assistant = deps.assistants.get(body.model);
    if (!assistant) {
      throw new HttpError(404, `The model '${body.model}' does not exist. Available: ${[...deps.assistants.keys()].join(', ')}.`, 'invalid_request_error', 'model_not_found', 'model');
    }
    const settings = assistant.settings;
    const answerBudget = body.max_completion_tokens ?? body.max_tokens ?? settings.answer_tokens;
    if (answerBudget >= settings.context_tokens) {
      throw new HttpError(400, `max_tokens (${answerBudget}) must be less than the model's context of ${settings.context_tokens} tokens.`, 'invalid_request_error', 'invalid_request', 'max_tokens');
    }
    const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;

    // Abort the upstream call when the client goes away (or shutdown gives up waiting).
    const ctrl = new AbortController();
    deps.lifecycle.controllers.add(ctrl);
    res.on('close', () => {
      if (!res.writableFinished) ctrl.abort(new Error('client disconnected'));
      deps.lifecycle.controllers.delete(ctrl);
    });
    const ctx: Ctx = { deps, s, body, assistant, answerBudget, stop, signal: ctrl.signal };

    const prepared = await prepare(ctx);
    if (ctrl.signal.aborted) return;
    if (body.stream) await streamAnswer(ctx, prepared, res);
    else await completeAnswer(ctx, prepared, res);
  });
  return r;
}

async function prepare(ctx: Ctx): Promise<Prepared> {
  const { deps, s, body, assistant } = ctx;
  const msgs = body.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: contentText(m.content) }) as ChatMessage);
  const clientSystem = msgs.filter((m) => m.role === 'system').map((m) => m.content);
  const turns = msgs.filter((m) => m.role !== 'system');
  const last = turns[turns.length - 1];
  if (!last || last.role !== 'user') throw new HttpError(400, 'messages: the last non-system message must be a user message (the question).', 'invalid_request_error', 'invalid_request', 'messages');
  const question = last.content.trim();
  if (!question) throw new HttpError(400, 'messages: the last user message is empty.', 'invalid_request_error', 'invalid_request', 'messages');

  if (body.kb?.retrieval === false) {
    return { question, query: question, rewrite: 'none', retrieval: false, blocks: [], omitted: 0, messages: msgs, degraded: [] };
  }

  // Budget: the model's context minus the answer budget holds instructions, history, context,
  // question. Checked before retrieval, so a question that cannot fit costs no search.
  const settings = assistant.settings;
  const available = settings.context_tokens - ctx.answerBudget;
  const promptOf = (history: ChatMessage[], blocks: ContextBlock[]) =>
    buildGroundedMessages({ question, history, blocks, persona: settings.system_prompt, clientInstructions: clientSystem, instructionsIn: settings.instructions_in });
  const shell = messagesTokens(promptOf([], []));
  if (shell > available) {
    throw new HttpError(400, `The question and instructions need about ${shell} tokens, more than the ${available} the model's context leaves after the answer budget of ${ctx.answerBudget}.`, 'invalid_request_error', 'context_length_exceeded', 'messages');
  }
  const rewrite = await standaloneQuestion(turns, { model: assistant.model, enabled: deps.config.chat.rewrite_followups, signal: ctx.signal });
  if (rewrite.error) s.log.warn({ err: rewrite.error }, 'follow-up rewrite with the model failed; used the previous question instead');
  const query = clipQuery(rewrite.query, deps.config.limits);
  if (query.length < rewrite.query.length) s.log.debug({ chars: rewrite.query.length, kept: query.length }, 'retrieval query clipped to limits.max_query_chars');
  const result = await deps.retriever.retrieve({
    query,
    topK: body.kb?.top_k ?? deps.config.retrieval.top_k,
    filters: toFilters(body.kb?.filters),
    groups: s.groups,
    mode: body.kb?.mode,
  });
  deps.metrics.observeRetrieval(result.timings);
  const hits = enforceAcl(deps.db, result.hits, s.groups, s.log);

  // History gets at most a quarter of the room: retrieved context matters more for a grounded answer.
  const history = fitHistory(turns.slice(0, -1), Math.floor((available - shell) / 4));
  const contextBudget = available - messagesTokens(promptOf(history, []));
  const packed = packContext(hits, contextBudget);
  s.log.debug({ query, rewrite: rewrite.method, hits: hits.length, blocks: packed.blocks.length, omitted: packed.omitted, context_tokens: packed.tokens }, 'context packed');
  return {
    question,
    query,
    rewrite: rewrite.method,
    retrieval: true,
    blocks: packed.blocks,
    omitted: packed.omitted,
    messages: promptOf(history, packed.blocks),
    degraded: result.degraded,
  };
}

function extractive(ctx: Ctx, p: Prepared, reason: ExtractiveReason): Outcome {
  const cfg = ctx.deps.config.chat;
  const ans = extractiveAnswer({
    // Passage selection scores every query term against every sentence: bound the question like the retrieval query.
    question: clipQuery(p.question, ctx.deps.config.limits),
    blocks: p.blocks,
    reason: p.retrieval ? reason : { kind: 'retrieval_disabled' },
    maxPassages: cfg.extractive_passages,
    excerptChars: cfg.snippet_chars * 2,
  });
  let content = ans.content;
  let finishReason = 'stop';
  const explicitMax = ctx.body.max_completion_tokens ?? ctx.body.max_tokens;
  if (explicitMax && estimateTokens(content) > explicitMax) {
    // Honour max_tokens here too (by the estimate): cut the quoted text.
    while (content.length > 0 && estimateTokens(content) > explicitMax) content = content.slice(0, Math.floor(content.length * 0.9));
    finishReason = 'length';
  }
  return { mode: 'extractive', content, quoted: ans.quoted, finishReason, degradedReason: reason.kind === 'upstream_unavailable' ? reason.detail : null };
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
function upstreamErrorCode(kind: string): string {
  return kind === 'timeout' ? 'upstream_timeout' : kind === 'malformed' ? 'upstream_malformed_response' : kind === 'rejected' ? 'upstream_rejected' : 'upstream_unavailable';
}

/** Upstream failure → extractive answer (config on_upstream_error: extractive) or a clear error. Returns null when the client left. */
function onUpstreamError(ctx: Ctx, p: Prepared, err: unknown): Outcome | null {
  if (!(err instanceof UpstreamError)) throw err;
  if (err.kind === 'aborted') return null;
  ctx.s.log.warn({ kind: err.kind, status: err.status, err: err.message, assistant: ctx.assistant.id }, 'upstream model call failed');
  if (err.unavailable && ctx.deps.config.chat.on_upstream_error === 'extractive') {
    const { detail, header } = upstreamFailureDetail(err);
    const out = extractive(ctx, p, { kind: 'upstream_unavailable', detail });
    if (out.mode === 'extractive') out.degradedHeader = header;
    return out;
  }
  if (err.kind === 'malformed') throw new HttpError(502, `The model server sent an invalid answer (${ctx.assistant.id}): ${err.message}`, 'upstream_error', 'upstream_malformed_response');
  if (err.kind === 'timeout') throw new HttpError(504, `The model server did not answer in time (${ctx.assistant.id}): ${err.message}`, 'upstream_error', 'upstream_timeout');
  if (err.kind === 'rejected') throw new HttpError(502, `The model server rejected the request (${ctx.assistant.id}): ${err.message}`, 'upstream_error', 'upstream_rejected');
  throw new HttpError(502, `The model server is unavailable (${ctx.assistant.id}): ${err.message}`, 'upstream_error', 'upstream_unavailable');
}

function citationsOf(ctx: Ctx, p: Prepared, out: Outcome): Citation[] {
  const chars = ctx.deps.config.chat.snippet_chars;
  if (out.mode === 'extractive') return out.quoted.map((b) => toCitation(b, p.query, chars));
  return citationsFor(out.content, p.blocks, p.query, chars);
}

function kbInfo(p: Prepared, out: Outcome) {
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

function setModeHeaders(res: Response, out: Outcome, p: Prepared): void {
  res.setHeader('X-KB-Mode', out.mode);
  if (out.mode === 'generated' && out.fallback) res.setHeader('X-KB-Fallback', 'base-model');
  const degraded = [...(out.mode === 'extractive' && out.degradedReason ? [out.degradedHeader ?? 'upstream-unavailable'] : []), ...p.degraded.map((d) => d.split(':')[0])];
  if (degraded.length) res.setHeader('X-KB-Degraded', degraded.join(','));
}

function usageOf(p: Prepared, out: Outcome): { prompt_tokens: number; completion_tokens: number; total_tokens: number; source: 'upstream' | 'estimate' } {
  if (out.mode === 'generated' && out.usage) {
    const u = out.usage;
    return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.promptTokens + u.completionTokens, source: 'upstream' };
  }
  const prompt = out.mode === 'generated' ? messagesTokens(p.messages) : 0;
  const completion = estimateTokens(out.content) + (out.mode === 'generated' ? estimateTokens(out.reasoning) : 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, source: 'estimate' };
}

function record(ctx: Ctx, p: Prepared, out: Outcome, upstreamSeconds: number | null, citations: number): void {
  const { metrics } = ctx.deps;
  const assistant = ctx.assistant.id;
  metrics.answers.inc({ assistant, mode: out.mode === 'extractive' && out.degradedReason ? 'degraded' : out.mode });
  if (out.mode === 'generated') {
    const u = usageOf(p, out);
    metrics.tokens.inc({ assistant, type: 'prompt', source: u.source }, u.prompt_tokens);
    metrics.tokens.inc({ assistant, type: 'completion', source: u.source }, u.completion_tokens);
    if (upstreamSeconds !== null) metrics.upstreamDuration.observe({ assistant, outcome: out.fallback ? 'fallback' : 'ok' }, upstreamSeconds);
  }
  ctx.s.log.info(
    { assistant, mode: out.mode, rewrite: p.rewrite, blocks: p.blocks.length, citations, fallback: out.mode === 'generated' && out.fallback, finish_reason: out.finishReason },
    'chat answered',
  );
}

/** The upstream answered but its token usage was not valid: ignored (usage is estimated), counted and logged. */
function reportUsageProblem(ctx: Ctx, problem: string): void {
  ctx.deps.metrics.upstreamInvalidUsage.inc({ assistant: ctx.assistant.id });
  ctx.s.log.warn({ assistant: ctx.assistant.id, problem }, 'upstream reported invalid token usage; using the estimate');
}

function recordUpstreamFailure(ctx: Ctx, err: unknown, seconds: number): void {
  const outcome = err instanceof UpstreamError ? err.kind : 'error';
  ctx.deps.metrics.upstreamDuration.observe({ assistant: ctx.assistant.id, outcome }, seconds);
}

const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

async function completeAnswer(ctx: Ctx, p: Prepared, res: Response): Promise<void> {
  const model = ctx.assistant.model;
  let out: Outcome | null;
  let upstreamSeconds: number | null = null;
  if (!model) {
    out = extractive(ctx, p, { kind: 'no_generator' });
  } else {
    const t = process.hrtime.bigint();
    try {
      const r = await model.complete({ messages: p.messages, maxTokens: ctx.answerBudget, temperature: ctx.body.temperature ?? undefined, topP: ctx.body.top_p ?? undefined, stop: ctx.stop, signal: ctx.signal });
      upstreamSeconds = since(t);
      if (r.usageProblem) reportUsageProblem(ctx, r.usageProblem);
      out = { mode: 'generated', content: r.content, reasoning: r.reasoning, finishReason: r.finishReason, usage: r.usage, fallback: r.fallback, upstreamModel: r.model };
    } catch (err) {
      recordUpstreamFailure(ctx, err, since(t));
      out = onUpstreamError(ctx, p, err);
    }
  }
  if (!out) return; // client gone
  const citations = citationsOf(ctx, p, out);
  record(ctx, p, out, upstreamSeconds, citations.length);
  setModeHeaders(res, out, p);
  const { source: _source, ...usage } = usageOf(p, out);
  const message: Record<string, unknown> = { role: 'assistant', content: out.content };
  if (out.mode === 'generated' && out.reasoning && ctx.deps.config.chat.reasoning === 'separate') message.reasoning_content = out.reasoning;
  res.json({
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.assistant.id,
    choices: [{ index: 0, message, finish_reason: out.finishReason, logprobs: null }],
    usage,
    citations,
    kb: kbInfo(p, out),
  });
}

/** Writes SSE events, waiting for the socket to drain so a slow client does not buffer the whole answer. */
class SseWriter {
  private lastWrite = Date.now();
  constructor(private readonly res: Response) {}

  get gone(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  async event(data: unknown): Promise<void> {
    await this.raw(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line keeps proxies from timing out while the model thinks silently. */
  async keepAlive(everyMs: number): Promise<void> {
    if (Date.now() - this.lastWrite >= everyMs) await this.raw(': keep-alive\n\n');
  }

  async raw(text: string): Promise<void> {
    if (this.gone) return;
    this.lastWrite = Date.now();
    if (!this.res.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.res.off('drain', done);
          this.res.off('close', done);
          resolve();
        };
        this.res.on('drain', done);
        this.res.on('close', done);
      });
    }
  }
}

const KEEPALIVE_MS = 15_000;

async function streamAnswer(ctx: Ctx, p: Prepared, res: Response): Promise<void> {
  const model = ctx.assistant.model;
  let upstream: ChatStream | null = null;
  let early: Outcome | null = null;
  const t = process.hrtime.bigint();
  if (!model) {
    early = extractive(ctx, p, { kind: 'no_generator' });
  } else {
    try {
      // Resolves with the first event: failures, garbage and the adapter fallback are known before our headers go out.
      upstream = await model.stream({ messages: p.messages, maxTokens: ctx.answerBudget, temperature: ctx.body.temperature ?? undefined, topP: ctx.body.top_p ?? undefined, stop: ctx.stop, signal: ctx.signal });
    } catch (err) {
      recordUpstreamFailure(ctx, err, since(t));
      early = onUpstreamError(ctx, p, err);
      if (!early) return;
    }
  }

  const id = `chatcmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: ctx.assistant.id,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...extra,
  });
  const separate = ctx.deps.config.chat.reasoning === 'separate';

  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  const headerOutcome: Outcome = early ?? { mode: 'generated', content: '', reasoning: '', finishReason: 'stop', usage: null, fallback: upstream!.fallback, upstreamModel: upstream!.model };
  setModeHeaders(res, headerOutcome, p);
  res.flushHeaders();
  const sse = new SseWriter(res);
  await sse.event(chunk({ role: 'assistant', content: '' }, null));

  let out: Outcome;
  if (early) {
    out = early;
    await sse.event(chunk({ content: out.content }, null));
  } else {
    const stream = upstream!;
    let content = '';
    let reasoning = '';
    let finishReason = 'stop';
    let usage: Usage | null = null;
    try {
      for await (const ev of stream.events) {
        if (sse.gone) break;
        if (ev.type === 'finish') {
          finishReason = ev.finishReason;
          usage = ev.usage;
          if (ev.usageProblem) reportUsageProblem(ctx, ev.usageProblem);
          continue;
        }
        content += ev.content;
        reasoning += ev.reasoning;
        const delta: Record<string, unknown> = {};
        if (ev.content) delta.content = ev.content;
        if (ev.reasoning && separate) delta.reasoning_content = ev.reasoning;
        if (Object.keys(delta).length) await sse.event(chunk(delta, null));
        else await sse.keepAlive(KEEPALIVE_MS);
      }
    } catch (err) {
      recordUpstreamFailure(ctx, err, since(t));
      const kind = err instanceof UpstreamError ? err.kind : 'error';
      if (kind !== 'aborted') {
        ctx.s.log.warn({ kind, err: (err as Error).message, assistant: ctx.assistant.id }, 'upstream stream failed mid-answer');
        // Mid-stream the status is already 200: report the error the way OpenAI's streams do.
        await sse.event({
          error: {
            message: `The model server failed while streaming (${ctx.assistant.id}): ${(err as Error).message}`,
            type: 'upstream_error',
            param: null,
            code: upstreamErrorCode(kind),
          },
        });
      }
      res.end();
      return;
    }
    if (sse.gone) return;
    out = { mode: 'generated', content, reasoning, finishReason, usage, fallback: stream.fallback, upstreamModel: stream.model };
  }

  const citations = citationsOf(ctx, p, out);
  record(ctx, p, out, out.mode === 'generated' ? since(t) : null, citations.length);
  await sse.event(chunk({}, out.finishReason, { citations, kb: kbInfo(p, out) }));
  if (ctx.body.stream_options?.include_usage) {
    const { source: _source, ...usage } = usageOf(p, out);
    await sse.event({ id, object: 'chat.completion.chunk', created, model: ctx.assistant.id, choices: [], usage });
  }
  await sse.raw('data: [DONE]\n\n');
  res.end();
}

import crypto from 'node:crypto';
import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AnswerError, AnswerService, kbInfo, upstreamErrorCode, usageOf, type AnswerInput, type Outcome, type Prepared } from '../../src/answer/service.ts';
import type { Assistant } from '../../src/llm/assistants.ts';
import { UpstreamError, type ChatMessage, type ChatStream, type Usage } from '../../src/llm/chat-model.ts';
import { enforceAcl } from '../acl-guard.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { routeLabel, state, type RequestState } from '../state.ts';
import { filtersSchema, modeSchema, parseBody, toFilters } from '../validation.ts';
import { checkMessageChars, checkMessageCount } from '../limits.ts';

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

interface Ctx {
  deps: AppDeps;
  s: RequestState;
  body: ChatBody;
  assistant: Assistant;
  service: AnswerService;
  input: AnswerInput;
}

/** The pipeline's errors as HTTP errors: a client's mistake is a 400, the upstream's a 502/504. */
function httpError(err: unknown): unknown {
  if (!(err instanceof AnswerError)) return err;
  if (err.code === 'upstream_timeout') return new HttpError(504, err.message, 'upstream_error', err.code);
  if (err.code === 'upstream_rejected' || err.code === 'upstream_unavailable' || err.code === 'upstream_malformed_response') return new HttpError(502, err.message, 'upstream_error', err.code);
  return new HttpError(400, err.message, 'invalid_request_error', err.code, err.param);
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
    // Abort the upstream call when the client goes away (or shutdown gives up waiting).
    const ctrl = new AbortController();
    deps.lifecycle.controllers.add(ctrl);
    res.on('close', () => {
      if (!res.writableFinished) ctrl.abort(new Error('client disconnected'));
      deps.lifecycle.controllers.delete(ctrl);
    });
    // Built per request: a configuration reload swaps deps.config and deps.retriever.
    const service = new AnswerService({
      config: deps.config,
      retriever: deps.retriever,
      checkHits: (hits, groups, log) => enforceAcl(deps.db, hits, groups, log),
      onRetrieval: (timings) => deps.metrics.observeRetrieval(timings),
    });
    const input: AnswerInput = {
      assistant,
      messages: body.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: contentText(m.content) }) as ChatMessage),
      groups: s.groups,
      kb: { topK: body.kb?.top_k, filters: toFilters(body.kb?.filters), retrieval: body.kb?.retrieval, mode: body.kb?.mode },
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      stop: body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
      signal: ctrl.signal,
      log: s.log,
    };
    const ctx: Ctx = { deps, s, body, assistant, service, input };
    try {
      if (body.stream) {
        const prepared = await service.prepare(input);
        if (ctrl.signal.aborted) return;
        await streamAnswer(ctx, prepared, res);
      } else await completeAnswer(ctx, res);
    } catch (err) {
      throw httpError(err);
    }
  });
  return r;
}

function setModeHeaders(res: Response, out: Outcome, p: Prepared): void {
  res.setHeader('X-KB-Mode', out.mode);
  if (out.mode === 'generated' && out.fallback) res.setHeader('X-KB-Fallback', 'base-model');
  const degraded = [...(out.mode === 'extractive' && out.degradedReason ? [out.degradedHeader ?? 'upstream-unavailable'] : []), ...p.degraded.map((d) => d.split(':')[0])];
  if (degraded.length) res.setHeader('X-KB-Degraded', degraded.join(','));
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

function recordUpstreamFailure(ctx: Ctx, err: unknown, seconds: number): void {
  const outcome = err instanceof UpstreamError ? err.kind : 'error';
  ctx.deps.metrics.upstreamDuration.observe({ assistant: ctx.assistant.id, outcome }, seconds);
}

const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/** The upstream answered but its token usage was not valid: ignored (usage is estimated), counted and logged. */
function reportUsageProblem(ctx: Ctx, problem: string): void {
  ctx.deps.metrics.upstreamInvalidUsage.inc({ assistant: ctx.assistant.id });
  ctx.s.log.warn({ assistant: ctx.assistant.id, problem }, 'upstream reported invalid token usage; using the estimate');
}

async function completeAnswer(ctx: Ctx, res: Response): Promise<void> {
  const answer = await ctx.service.answer(ctx.input, { onUpstreamFailure: (err, seconds) => recordUpstreamFailure(ctx, err, seconds) });
  if (!answer) return; // client gone
  const { prepared: p, outcome: out, citations } = answer;
  if (out.mode === 'generated' && out.usageProblem) reportUsageProblem(ctx, out.usageProblem);
  record(ctx, p, out, answer.upstreamSeconds, citations.length);
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
    early = ctx.service.extractive(ctx.input, p, { kind: 'no_generator' });
  } else {
    try {
      // Resolves with the first event: failures, garbage and the adapter fallback are known before our headers go out.
      upstream = await model.stream(ctx.service.generateParams(ctx.input, p));
    } catch (err) {
      recordUpstreamFailure(ctx, err, since(t));
      early = ctx.service.onUpstreamError(ctx.input, p, err);
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

  const citations = ctx.service.citations(p, out);
  record(ctx, p, out, out.mode === 'generated' ? since(t) : null, citations.length);
  await sse.event(chunk({}, out.finishReason, { citations, kb: kbInfo(p, out) }));
  if (ctx.body.stream_options?.include_usage) {
    const { source: _source, ...usage } = usageOf(p, out);
    await sse.event({ id, object: 'chat.completion.chunk', created, model: ctx.assistant.id, choices: [], usage });
  }
  await sse.raw('data: [DONE]\n\n');
  res.end();
}

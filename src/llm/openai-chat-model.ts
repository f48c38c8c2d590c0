import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import {
  UpstreamError,
  type ChatModel,
  type ChatStream,
  type CompletionResult,
  type GenerateParams,
  type StreamEvent,
  type Usage,
} from './chat-model.ts';
import { ThinkFilter, splitThink } from './think-filter.ts';
import { checkChunk, checkCompletion, checkUsage } from './upstream-schema.ts';

export interface OpenAIChatModelOptions {
  upstreamName: string;
  baseUrl: string;
  apiKey: string;
  /**
   * Per attempt: time to response headers; non-streaming also bounds the body; streaming: the
   * longest time without progress (a chunk with content, reasoning, a finish_reason or usage).
   */
  timeoutMs: number;
  maxRetries: number;
  model: string;
  /** LoRA adapter model tried first ('' = none). */
  adapter?: string;
  /**
   * The currently deployed adapter, asked per request (the adapter registry: `kb finetune deploy`
   * and `rollback` take effect without a restart). Wins over `adapter`; null/undefined = use `adapter`.
   */
  resolveAdapter?: () => string | null | undefined;
  /** After the adapter was reported missing, go straight to the base model for this long. */
  adapterRetryMs?: number;
  thinkStartsOpen?: boolean;
  log?: Logger;
}

// Upper bound of the openai client's retry backoff summed over 5 retries (0.5 s doubling, ≤ 8 s).
const MAX_BACKOFF_TOTAL_MS = 16_000;

/** Any OpenAI-compatible server (vLLM, Ollama, llama.cpp, hosted APIs) through the official client. */
export class OpenAIChatModel implements ChatModel {
  readonly description: string;
  private readonly client: OpenAI;
  private adapterMissingUntil = 0;
  private missingAdapter: string | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: OpenAIChatModelOptions) {
    this.client = new OpenAI({
      baseURL: opts.baseUrl,
      // The client refuses an empty key; servers that need none ignore the header.
      apiKey: opts.apiKey || 'no-key',
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries,
      // Its console logging of unparsable chunks would bypass our logger; we report them ourselves.
      logLevel: 'off',
    });
    this.log = opts.log ?? silentLogger;
    this.description = opts.adapter ? `${opts.upstreamName}:${opts.adapter} (base ${opts.model})` : `${opts.upstreamName}:${opts.model}`;
  }

  async complete(params: GenerateParams): Promise<CompletionResult> {
    return this.withAdapterFallback(async (model, fallback) => {
      const guard = new Deadline(this.opts.timeoutMs * (this.opts.maxRetries + 1) + MAX_BACKOFF_TOTAL_MS, params.signal);
      try {
        const { data, response } = await this.client.chat.completions.create({ ...this.body(params, model), stream: false }, { signal: guard.signal }).withResponse();
        // The client hands back the raw text when the body is not JSON (a proxy's HTML page).
        const checked = checkCompletion(data as unknown);
        if (!checked.ok) throw malformed(`${checked.reason} (HTTP ${response.status}, ${response.headers.get('content-type') ?? 'no content-type'})`);
        const res = checked.value;
        const choice = res.choices[0]!;
        const msg = choice.message;
        const split = splitThink(msg.content ?? '', { startInThink: this.opts.thinkStartsOpen });
        const upstreamReasoning = msg.reasoning_content ?? msg.reasoning ?? '';
        const usage = checkUsage(res.usage);
        return {
          content: split.content,
          reasoning: upstreamReasoning + split.reasoning,
          finishReason: choice.finish_reason ?? 'stop',
          usage: usage.usage,
          ...(usage.problem ? { usageProblem: usage.problem } : {}),
          model: typeof res.model === 'string' && res.model ? res.model : model,
          fallback,
        };
      } catch (err) {
        throw classify(err, params.signal, guard.fired);
      } finally {
        guard.clear();
      }
    });
  }

  async stream(params: GenerateParams): Promise<ChatStream> {
    return this.withAdapterFallback(async (model, fallback) => {
      // One timer: first for the response headers (with retries), then for each stretch without content.
      const idle = new Deadline(this.opts.timeoutMs * (this.opts.maxRetries + 1) + MAX_BACKOFF_TOTAL_MS, params.signal);
      let upstream: AsyncIterable<ChatCompletionChunk> & { controller: AbortController };
      let described: string;
      try {
        const { data, response } = await this.client.chat.completions
          .create({ ...this.body(params, model), stream: true, stream_options: { include_usage: true } }, { signal: idle.signal })
          .withResponse();
        upstream = data;
        described = `HTTP ${response.status}, ${response.headers.get('content-type') ?? 'no content-type'}`;
      } catch (err) {
        idle.clear();
        throw classify(err, params.signal, idle.fired);
      }
      const startInThink = this.opts.thinkStartsOpen;
      const timeoutMs = this.opts.timeoutMs;
      async function* events(): AsyncGenerator<StreamEvent> {
        const filter = new ThinkFilter({ startInThink });
        let finishReason: string | null = null;
        let usage: Usage | null = null;
        let usageProblem: string | undefined;
        let chunks = 0;
        try {
          idle.restart(timeoutMs);
          for await (const raw of upstream) {
            chunks++;
            const checked = checkChunk(raw as unknown);
            if (!checked.ok) throw malformed(`${checked.reason} (chunk ${chunks} of the stream)`);
            const chunk = checked.value;
            const hasUsage = chunk.usage !== undefined && chunk.usage !== null;
            if (hasUsage) ({ usage, problem: usageProblem } = checkUsage(chunk.usage));
            const choice = chunk.choices[0];
            const delta = choice?.delta ?? {};
            // Only progress restarts the timer: an upstream stuck sending empty chunks is as hung as a silent one.
            if (hasUsage || choice?.finish_reason || delta.content || delta.reasoning_content || delta.reasoning) idle.restart(timeoutMs);
            if (!choice) continue;
            if (choice.finish_reason) finishReason = choice.finish_reason;
            const split = filter.push(delta.content ?? '');
            const reasoning = (delta.reasoning_content ?? delta.reasoning ?? '') + split.reasoning;
            if (split.content || reasoning) yield { type: 'delta', content: split.content, reasoning };
          }
          // The client ends iteration quietly when its signal aborts: tell why.
          if (params.signal?.aborted) throw new UpstreamError('aborted', 'the request was aborted');
          if (idle.fired) throw new UpstreamError('timeout', `upstream sent no content for ${timeoutMs} ms while streaming`);
          // Without a finish_reason the answer is incomplete: the connection closed mid-answer, or
          // the body was not an event stream at all (HTML, plain JSON: no `data:` events).
          if (chunks === 0) throw malformed(`the response had no stream events (${described})`);
          if (finishReason === null) throw malformed(`the stream ended after ${chunks} chunk${chunks === 1 ? '' : 's'} without a finish_reason (connection closed mid-answer?)`);
          const rest = filter.flush();
          if (rest.content || rest.reasoning) yield { type: 'delta', content: rest.content, reasoning: rest.reasoning };
          yield { type: 'finish', finishReason, usage, ...(usageProblem ? { usageProblem } : {}) };
        } catch (err) {
          throw classify(err, params.signal, idle.fired);
        } finally {
          idle.clear();
          upstream.controller.abort(); // no-op when finished; stops the upstream when our consumer quits early
        }
      }
      // Resolve only with the first event in hand (content, reasoning or the finish): a stream
      // that is garbage from the start fails here, before the caller commits to a 200 answer.
      const it = events();
      const first = await it.next();
      return { model, fallback, events: withFirst(first, it) };
    });
  }

  private body(params: GenerateParams, model: string): ChatCompletionCreateParamsBase {
    const body: ChatCompletionCreateParamsBase = { model, messages: params.messages };
    if (params.maxTokens !== undefined) body.max_tokens = params.maxTokens;
    if (params.temperature !== undefined) body.temperature = params.temperature;
    if (params.topP !== undefined) body.top_p = params.topP;
    if (params.stop && params.stop.length > 0) body.stop = params.stop;
    return body;
  }

  private currentAdapter(): string | undefined {
    try {
      return this.opts.resolveAdapter?.() || this.opts.adapter || undefined;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the adapter registry; using the configured adapter');
      return this.opts.adapter || undefined;
    }
  }

  /** Tries the adapter model; when the upstream says it does not exist, uses the base model. */
  private async withAdapterFallback<T>(call: (model: string, fallback: boolean) => Promise<T>): Promise<T> {
    const { model } = this.opts;
    const adapter = this.currentAdapter();
    if (!adapter) return call(model, false);
    if (adapter !== this.missingAdapter) this.adapterMissingUntil = 0;
    if (Date.now() < this.adapterMissingUntil) return call(model, true);
    try {
      return await call(adapter, false);
    } catch (err) {
      if (!(err instanceof UpstreamError) || !isModelMissing(err)) throw err;
      this.adapterMissingUntil = Date.now() + (this.opts.adapterRetryMs ?? 60_000);
      this.missingAdapter = adapter;
      this.log.warn({ upstream: this.opts.upstreamName, adapter, base_model: model, err: err.message }, 'adapter model unavailable; falling back to the base model');
      return call(model, true);
    }
  }
}

/** A timer that aborts a signal (combined with the caller's) and remembers that it fired. */
class Deadline {
  private readonly ctrl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  fired = false;
  readonly signal: AbortSignal;

  constructor(ms: number, caller?: AbortSignal) {
    this.signal = caller ? AbortSignal.any([caller, this.ctrl.signal]) : this.ctrl.signal;
    this.restart(ms);
  }

  restart(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.ctrl.abort(new Error('upstream deadline'));
    }, ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

const MODEL_MISSING_RE = /model[^.]{0,80}(not found|does not exist|doesn't exist|not exist|unknown|not available|no such)|unknown model|no such model|model_not_found/i;

function isModelMissing(err: UpstreamError): boolean {
  if (err.kind !== 'rejected') return false;
  if (err.status === 404) return true;
  return (err.status === 400 || err.status === 422) && MODEL_MISSING_RE.test(err.message);
}

const malformed = (reason: string) => new UpstreamError('malformed', `malformed upstream response: ${reason}`);

/** Replays an already-pulled first result, then the rest of the generator. */
async function* withFirst<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  try {
    yield first.value;
    yield* rest;
  } finally {
    await rest.return(undefined); // the consumer stopped early: release the upstream
  }
}

function classify(err: unknown, caller: AbortSignal | undefined, deadlineFired: boolean): UpstreamError {
  if (err instanceof UpstreamError) return err;
  // The client's JSON.parse of the body or of an SSE `data:` line.
  if (err instanceof SyntaxError && !caller?.aborted && !deadlineFired) return malformed(`invalid JSON: ${err.message}`);
  if (caller?.aborted) return new UpstreamError('aborted', 'the request was aborted', undefined, { cause: err });
  if (deadlineFired || err instanceof APIConnectionTimeoutError) return new UpstreamError('timeout', 'the upstream model server timed out', undefined, { cause: err });
  if (err instanceof APIUserAbortError) return new UpstreamError('aborted', 'the upstream call was aborted', undefined, { cause: err });
  if (err instanceof APIConnectionError) return new UpstreamError('unreachable', `cannot reach the upstream model server: ${(err.cause as Error | undefined)?.message ?? err.message}`, undefined, { cause: err });
  if (err instanceof APIError) {
    const status = err.status;
    const detail = err.message;
    if (status === undefined) return new UpstreamError('server_error', `upstream stream error: ${detail}`, undefined, { cause: err });
    if (status >= 500 || status === 429) return new UpstreamError('server_error', `upstream error ${status}: ${detail}`, status, { cause: err });
    return new UpstreamError('rejected', `upstream rejected the request (${status}): ${detail}`, status, { cause: err });
  }
  return new UpstreamError('server_error', `upstream failed: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
}

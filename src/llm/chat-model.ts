// The generator interface (v1). Implementations hide provider quirks (adapter fallback,
// reasoning tags, retries): callers get content and reasoning already separated.

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface GenerateParams {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** Aborts the upstream call (client disconnected, shutdown). */
  signal?: AbortSignal;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface CompletionResult {
  content: string;
  reasoning: string;
  finishReason: string;
  usage: Usage | null;
  /** Upstream model that answered. */
  model: string;
  /** True when the adapter model was unavailable and the base model answered. */
  fallback: boolean;
  /** The upstream reported usage that was not valid (dropped: usage is null, callers estimate). */
  usageProblem?: string;
}

export type StreamEvent =
  | { type: 'delta'; content: string; reasoning: string }
  | { type: 'finish'; finishReason: string; usage: Usage | null; usageProblem?: string };

export interface ChatStream {
  model: string;
  fallback: boolean;
  events: AsyncIterable<StreamEvent>;
}

export interface ChatModel {
  /** Human-readable target, e.g. "vllm:kb-lora (base qwen-7b)". */
  readonly description: string;
  complete(params: GenerateParams): Promise<CompletionResult>;
  /**
   * Resolves with the first event (content, reasoning or the finish) in hand, so an upstream that
   * fails, falls back or answers garbage from the start is known before any byte is sent.
   */
  stream(params: GenerateParams): Promise<ChatStream>;
}

export type UpstreamFailure =
  | 'timeout' // no answer within the bounded time (after retries)
  | 'unreachable' // connection refused/reset, DNS (after retries)
  | 'server_error' // 5xx / 429 after retries
  | 'rejected' // 4xx: the upstream refused the request (auth, bad parameters)
  | 'malformed' // the answer is not a valid OpenAI response (HTML, invalid JSON, {}, no choices, truncated stream)
  | 'aborted'; // our caller aborted (client disconnect)

/** An upstream call failed; `kind` says how, so the server can choose a status or degrade. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }

  /** The upstream is not usable right now (as opposed to refusing this request). */
  get unavailable(): boolean {
    return this.kind === 'timeout' || this.kind === 'unreachable' || this.kind === 'server_error' || this.kind === 'malformed';
  }
}

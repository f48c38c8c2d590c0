// Why the pool could not run a retrieval. The HTTP layer answers these with 503 + Retry-After
// (OpenAI error shape): the request itself was fine, the server could not take it right now.

export type RetrievalUnavailableCode = 'retrieval_overloaded' | 'retrieval_worker_failed' | 'shutting_down';

export class RetrievalUnavailableError extends Error {
  constructor(
    message: string,
    readonly code: RetrievalUnavailableCode,
    /** Seconds after which a retry is likely to succeed (the Retry-After header). */
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'RetrievalUnavailableError';
  }
}

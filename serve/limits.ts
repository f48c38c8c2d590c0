import type { LimitsConfig } from '../src/config/sections/limits.ts';
import { HttpError } from './errors.ts';

// Request-size limits (config `limits`), checked before any text analysis: the analyzer, the
// token estimate and prompt packing are linear or worse in input length, and they run on the
// one event loop that also answers /healthz and every other request.

const tooLarge = (code: string, param: string, message: string) => new HttpError(400, message, 'invalid_request_error', code, param);

/** /v1/retrieve: the raw `query`, before schema validation (so even the schema's work is bounded). */
export function checkQueryChars(query: unknown, limits: LimitsConfig, param = 'query'): void {
  if (typeof query === 'string' && query.length > limits.max_query_chars) {
    throw tooLarge('query_too_long', param, `${param}: ${query.length} characters, more than the limit of ${limits.max_query_chars} (limits.max_query_chars).`);
  }
}

/** Chat, before schema validation: the message count (validating a huge array is itself work). */
export function checkMessageCount(body: unknown, limits: LimitsConfig): void {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (Array.isArray(messages) && messages.length > limits.max_messages) {
    throw tooLarge('too_many_messages', 'messages', `messages: ${messages.length} messages, more than the limit of ${limits.max_messages} (limits.max_messages).`);
  }
}

/** Chat, after schema validation: characters per message and across the conversation. */
export function checkMessageChars(texts: readonly string[], limits: LimitsConfig): void {
  let total = 0;
  texts.forEach((text, i) => {
    if (text.length > limits.max_message_chars) {
      throw tooLarge(
        'message_too_long',
        `messages.${i}.content`,
        `messages.${i}.content: ${text.length} characters, more than the limit of ${limits.max_message_chars} (limits.max_message_chars).`,
      );
    }
    total += text.length;
  });
  if (total > limits.max_total_chars) {
    throw tooLarge('messages_too_long', 'messages', `messages: ${total} characters in all, more than the limit of ${limits.max_total_chars} (limits.max_total_chars).`);
  }
}

// The retrieval-query clip lives with the text helpers (the answer pipeline uses it too).
export { clipQuery } from '../src/text/clip-query.ts';

import { describe, expect, it } from 'vitest';
import type { LimitsConfig } from '../src/config/sections/limits.ts';
import { HttpError } from './errors.ts';
import { checkMessageChars, checkMessageCount, checkQueryChars, clipQuery } from './limits.ts';

const limits: LimitsConfig = { max_query_chars: 10, max_query_terms: 5, max_message_chars: 20, max_total_chars: 30, max_messages: 3 };

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    const e = err as HttpError;
    return { status: e.status, code: e.code, param: e.param };
  }
  return null;
};

describe('request limits', () => {
  it('refuses over-limit queries, messages and conversations, naming the field', () => {
    expect(refusal(() => checkQueryChars('q'.repeat(11), limits))).toEqual({ status: 400, code: 'query_too_long', param: 'query' });
    expect(refusal(() => checkQueryChars('q'.repeat(10), limits))).toBeNull();
    expect(refusal(() => checkQueryChars(42, limits))).toBeNull(); // the schema reports wrong types
    expect(refusal(() => checkMessageCount({ messages: [1, 2, 3, 4] }, limits))).toEqual({ status: 400, code: 'too_many_messages', param: 'messages' });
    expect(refusal(() => checkMessageCount({ messages: 'not an array' }, limits))).toBeNull();
    expect(refusal(() => checkMessageCount(null, limits))).toBeNull();
    expect(refusal(() => checkMessageChars(['ok', 'x'.repeat(21)], limits))).toEqual({ status: 400, code: 'message_too_long', param: 'messages.1.content' });
    expect(refusal(() => checkMessageChars(['x'.repeat(20), 'y'.repeat(11)], limits))).toEqual({ status: 400, code: 'messages_too_long', param: 'messages' });
    expect(refusal(() => checkMessageChars(['x'.repeat(20), 'y'.repeat(10)], limits))).toBeNull();
  });

  it('clips a retrieval query to its end without splitting a surrogate pair', () => {
    expect(clipQuery('short', limits)).toBe('short');
    expect(clipQuery('0123456789abc', limits)).toBe('3456789abc');
    const clipped = clipQuery(`aaaaa😀${'b'.repeat(9)}`, limits); // the cut would fall between the halves of 😀
    expect(clipped).toBe('b'.repeat(9));
    expect(clipQuery(`aaaa😀${'b'.repeat(8)}`, limits)).toBe(`😀${'b'.repeat(8)}`);
  });
});

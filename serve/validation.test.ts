import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HttpError } from './errors.ts';
import { filtersSchema, parseBody, validKeysAt } from './validation.ts';

describe('parseBody', () => {
  const body = z.object({ query: z.string(), filters: filtersSchema.optional(), list: z.array(z.object({ a: z.number() }).strict()).optional() }).strict();

  it('lists the valid keys when a key is not recognised, at any depth', () => {
    const err = (() => {
      try {
        parseBody(body, { query: 'q', filters: { kind: ['news'] } });
      } catch (e) {
        return e as HttpError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(HttpError);
    expect(err!.status).toBe(400);
    expect(err!.message).toMatch(/filters: Unrecognized key: "kind"; valid keys: kinds, from, to, tags, sources/);
    expect(() => parseBody(body, { query: 'q', extra: 1 })).toThrow(/valid keys: query, filters, list/);
    expect(() => parseBody(body, { query: 'q', list: [{ a: 1, b: 2 }] })).toThrow(/list\.0: .*valid keys: a$/);
  });

  it('finds object shapes through optional and array wrappers', () => {
    expect(validKeysAt(body, ['filters'])).toEqual(['kinds', 'from', 'to', 'tags', 'sources']);
    expect(validKeysAt(body, ['list', 0])).toEqual(['a']);
    expect(validKeysAt(body, ['query'])).toBeNull();
    expect(validKeysAt(body, ['nope'])).toBeNull();
  });
});

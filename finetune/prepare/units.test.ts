import { describe, expect, it } from 'vitest';
import { dedupe } from './dedupe.ts';
import { piiMatcher } from './pii.ts';
import { quoteFor } from './raft.ts';
import { splitSamples } from './split.ts';
import { spliceName } from './specs-refusals.ts';
import { fill, TemplateError } from './templates.ts';
import type { Sample } from './types.ts';

const sample = (id: string, q: string, a: string, over: Partial<Sample> = {}): Sample => ({
  id,
  kind: 'single_fact',
  subkind: null,
  lang: 'en',
  fact_id: `f-${id}`,
  entity: { type: 'company', key: 'c1', name: 'Acme' },
  template: 't',
  heldout: false,
  facts: [],
  answer_values: [],
  messages: [
    { role: 'user', content: q },
    { role: 'assistant', content: a },
  ],
  ...over,
});

describe('dedupe', () => {
  it('removes exact and near duplicates (same answer, near-identical question) and keeps distinct phrasings', () => {
    const r = dedupe(
      [
        sample('b', 'Where is Acme headquartered?', 'Acme is headquartered in Ningbo.'),
        sample('a', 'Where is Acme  headquartered?', 'Acme is headquartered in Ningbo.'),
        sample('c', 'Where is Acme headquartered ?', 'Acme is headquartered in Ningbo.'),
        sample('d', 'In which city is Acme based?', 'Acme is headquartered in Ningbo.'),
      ],
      0.9,
    );
    expect(r.kept.map((s) => s.id)).toEqual(['a', 'd']);
    expect(r).toMatchObject({ exact: 1, near: 1 });
  });
});

describe('splitSamples', () => {
  it('sends held-out samples to test only, and keeps a train sample for every fact', () => {
    const samples = Array.from({ length: 200 }, (_, i) => sample(`s${i}`, `q${i}`, `a${i}`, { fact_id: `f${i % 50}`, heldout: i % 10 === 0 }));
    const r = splitSamples(samples, 1, 0.9);
    expect(r.test.every((s) => s.heldout)).toBe(true);
    expect([...r.train, ...r.val].some((s) => s.heldout)).toBe(false);
    const trainFacts = new Set(r.train.map((s) => s.fact_id));
    expect([...r.val, ...r.test].every((s) => trainFacts.has(s.fact_id))).toBe(true);
    expect(r.val.length).toBeGreaterThan(0);
    // f0, f10 … f40 have only held-out samples (i % 10 === 0): nothing teaches them, so they are not probed.
    expect(r.test.some((s) => s.fact_id === 'f0')).toBe(false);
    expect(r.untaught).toBe(20);
  });

  it('drops a test question that also occurs in train (leakage)', () => {
    const r = splitSamples([sample('x', 'Same?', 'A.'), sample('y', 'same?', 'B.', { heldout: true })], 1, 0);
    expect(r.test).toEqual([]);
    expect(r.leaked).toBe(1);
  });
});

describe('quoteFor', () => {
  const names = [
    { name: 'Acme', ref: 'company|c1' },
    { name: 'Bolt Corp', ref: 'company|c2' },
    { name: '华南会展服务', ref: 'company|c3' },
    { name: '中联博览', ref: 'company|c4' },
  ];
  it('accepts a sentence stating the fact about the entity alone', () => {
    expect(quoteFor('News. Acme is headquartered in Ningbo. More.', 'Acme', 'Ningbo', 'company|c1', new Set(), names)).toBe('Acme is headquartered in Ningbo.');
  });
  it('rejects a sentence that also names an unrelated record, and a value that is only part of another name', () => {
    expect(quoteFor('Acme and Bolt Corp signed a deal in Ningbo.', 'Acme', 'Ningbo', 'company|c1', new Set(), names)).toBeNull();
    expect(quoteFor('Acme and Bolt Corp signed a deal in Ningbo.', 'Acme', 'Ningbo', 'company|c1', new Set(['company|c2']), names)).not.toBeNull();
    expect(quoteFor('中联博览引入华南会展服务的方案。', '中联博览', '会展服务', 'company|c4', new Set(['company|c3']), names)).toBeNull();
  });
});

describe('helpers', () => {
  it('splices names word-wise or by character', () => {
    expect(spliceName('HuaKe Intelligence', 'Beichen Battery')).toBe('HuaKe Battery');
    expect(spliceName('华科智能', '北辰电池')).toBe('华科电池');
  });
  it('fails loudly on a template placeholder without a value', () => {
    expect(fill('{entity} is {value}', { entity: 'A', value: 'b' })).toBe('A is b');
    expect(() => fill('{entity} in {city}', { entity: 'A' })).toThrow(TemplateError);
  });
  it('finds PII values, regex characters included', () => {
    const m = piiMatcher(['+86 131 1000 1000', 'a.b@x.com']);
    expect(m('call +86 131 1000 1000 now')).toBe('+86 131 1000 1000');
    expect(m('mail aXb@x.com')).toBeNull();
    expect(m('mail a.b@x.com')).toBe('a.b@x.com');
  });
});

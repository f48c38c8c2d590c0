import { describe, expect, it } from 'vitest';
import { sourceSchema } from '../../src/config/schema.ts';
import { getField, mapRecord, parseDate, parseList } from './mapping.ts';

const src = (over: Record<string, unknown> = {}) => sourceSchema.parse({ name: 's', type: 'jsonl', path: 'x.jsonl', ...over });

function ok(item: ReturnType<typeof mapRecord>) {
  if (!item.ok) throw new Error(`expected ok, got ${item.reason}: ${item.detail}`);
  return item.record;
}
function bad(item: ReturnType<typeof mapRecord>) {
  if (item.ok) throw new Error('expected a quarantined item');
  return item;
}

describe('mapRecord', () => {
  it('applies the mapping, including dotted paths, and fills defaults', () => {
    const config = src({
      kind: 'comment',
      acl_groups: ['staff'],
      mapping: { id: 'doc.id', title: 'headline', body: 'content', author: 'meta.author', published_at: 'meta.when', tags: 'labels', url: 'link', acl_groups: 'visibility' },
    });
    const r = ok(
      mapRecord(
        { doc: { id: 42 }, headline: '  Hello  ', content: '<p>Body</p>', meta: { author: ' Ann ', when: '2025-03-04' }, labels: 'a; b,a', link: '', visibility: ['sales', 'staff'] },
        config,
        'x.jsonl:1',
      ),
    );
    expect(r).toEqual({
      externalId: '42',
      kind: 'comment',
      title: 'Hello',
      body: '<p>Body</p>',
      url: null,
      author: 'Ann',
      publishedAt: '2025-03-04T00:00:00.000Z',
      tags: ['a', 'b'],
      aclGroups: ['sales', 'staff'],
    });
  });

  it('unmapped fields use our names; record kind overrides the default', () => {
    const r = ok(mapRecord({ id: 'a', body: 'text', kind: ' Post ' }, src(), 'l'));
    expect(r.kind).toBe('post');
    expect(r.title).toBe('');
    expect(r.tags).toEqual([]);
    expect(r.aclGroups).toEqual([]);
    expect(r.publishedAt).toBeNull();
  });

  it('prefers an exact key containing a dot over a dotted walk', () => {
    expect(getField({ 'meta.author': 'flat', meta: { author: 'nested' } }, 'meta.author')).toBe('flat');
    expect(getField({ meta: { author: 'nested' } }, 'meta.author')).toBe('nested');
    expect(getField({ meta: 'x' }, 'meta.author')).toBeUndefined();
  });

  it('quarantines each validation failure with its reason', () => {
    const s = src();
    expect(bad(mapRecord({ body: 'x' }, s, 'f:1')).reason).toBe('missing_id');
    expect(bad(mapRecord({ id: '  ', body: 'x' }, s, 'f:2')).reason).toBe('missing_id');
    expect(bad(mapRecord({ id: { a: 1 }, body: 'x' }, s, 'f:3')).reason).toBe('missing_id');
    const mb = bad(mapRecord({ id: 'a', body: '   ' }, s, 'f:4'));
    expect(mb.reason).toBe('missing_body');
    expect(mb.locator).toBe('f:4');
    expect(mb.detail).toContain('"a"');
    expect(bad(mapRecord({ id: 'a' }, s, 'f')).reason).toBe('missing_body');
    expect(bad(mapRecord({ id: 'a', body: { html: 'x' } }, s, 'f')).reason).toBe('missing_body');
    expect(bad(mapRecord({ id: 'a', body: 'x', kind: 'tweet' }, s, 'f')).reason).toBe('invalid_kind');
    const d = bad(mapRecord({ id: 'a', body: 'x', published_at: 'next Tuesday' }, s, 'f'));
    expect(d.reason).toBe('invalid_date');
    expect(d.detail).toContain('next Tuesday');
    expect(bad(mapRecord({ id: 'a', body: 'x', tags: { a: 1 } }, s, 'f')).reason).toBe('invalid_field');
    expect(bad(mapRecord({ id: 'a', body: 'x', acl_groups: [{}] }, s, 'f')).reason).toBe('invalid_acl');
    expect(bad(mapRecord({ id: 'a', body: 'x', title: ['t'] }, s, 'f')).reason).toBe('invalid_field');
    expect(bad(mapRecord([1, 2], s, 'f')).reason).toBe('invalid_record');
    expect(bad(mapRecord('text', s, 'f')).reason).toBe('invalid_record');
  });

  it('keeps the raw record for the quarantine', () => {
    expect(bad(mapRecord({ id: 'a' }, src(), 'f')).raw).toBe('{"id":"a"}');
    expect(bad(mapRecord({ id: 'a' }, src(), 'f', 'RAW LINE')).raw).toBe('RAW LINE');
  });
});

describe('parseDate', () => {
  it.each([
    ['2025-03-04T10:20:30Z', '2025-03-04T10:20:30.000Z'],
    ['2025-03-04T10:20:30.5Z', '2025-03-04T10:20:30.500Z'],
    ['2025-03-04T18:20:00+08:00', '2025-03-04T10:20:00.000Z'],
    ['2025-03-04T02:20:00-0800', '2025-03-04T10:20:00.000Z'],
    ['2025-03-04T10:20', '2025-03-04T10:20:00.000Z'],
    ['2025-03-04 10:20:30', '2025-03-04T10:20:30.000Z'],
    ['2025-03-04', '2025-03-04T00:00:00.000Z'],
    ['2025/03/04 10:20', '2025-03-04T10:20:00.000Z'],
    ['2025/3/4', '2025-03-04T00:00:00.000Z'],
    ['2025年3月4日', '2025-03-04T00:00:00.000Z'],
    ['2025年3月4日 10:20', '2025-03-04T10:20:00.000Z'],
    ['Tue, 04 Mar 2025 10:20:00 GMT', '2025-03-04T10:20:00.000Z'],
    ['20250304', '2025-03-04T00:00:00.000Z'],
    [1741083600, '2025-03-04T10:20:00.000Z'],
    [1741083600000, '2025-03-04T10:20:00.000Z'],
    ['1741083600', '2025-03-04T10:20:00.000Z'],
    [new Date('2025-03-04T10:20:00Z'), '2025-03-04T10:20:00.000Z'],
  ])('%s → %s', (input, expected) => {
    expect(parseDate(input)).toBe(expected);
  });

  it.each(['next Tuesday', '2025-02-30', '2025-13-01', '2025-03-04T25:00', '04/03/2025', '', true, {}, '2025-03-04T10:00+15:00'])(
    'rejects %s',
    (input) => {
      expect(parseDate(input)).toBeNull();
    },
  );
});

describe('parseList', () => {
  it('accepts arrays and ;/,-separated strings, trimmed and de-duplicated', () => {
    expect(parseList(['a', ' b ', 'a', '', 3])).toEqual(['a', 'b', '3']);
    expect(parseList('a;b; c')).toEqual(['a', 'b', 'c']);
    expect(parseList('a,b，c；d、e')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(parseList('["x","y"]')).toEqual(['x', 'y']);
    expect(parseList(null)).toEqual([]);
    expect(parseList({})).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.ts';
import { prepareDocument } from './prepare.ts';
import type { SourceRecord } from './sources/types.ts';

const config = loadConfig({ env: {} });
const record = (aclGroups: string[]): SourceRecord => ({
  externalId: 'r1',
  kind: 'news',
  title: 'Title',
  body: 'A body long enough to pass the cleaning limits of the default configuration, with some words.',
  url: null,
  author: null,
  publishedAt: null,
  tags: [],
  aclGroups,
});

describe('prepareDocument ACL line', () => {
  it('refuses blank or invalid groups instead of dropping them (dropping the last one would publish)', () => {
    for (const groups of [[''], ['  '], ['exec', ''], ['sales team']]) {
      const r = prepareDocument(record(groups), 'src', config);
      expect(r.ok, JSON.stringify(groups)).toBe(false);
      if (!r.ok) expect(r.reason).toBe('invalid_acl');
    }
  });

  it('keeps valid groups, sorted and de-duplicated, and they are part of the content hash', () => {
    const a = prepareDocument(record(['hr', 'exec', 'hr']), 'src', config);
    const b = prepareDocument(record(['exec']), 'src', config);
    expect(a.ok && a.doc.input.aclGroups).toEqual(['exec', 'hr']);
    expect(a.ok && b.ok && a.doc.input.contentHash !== b.doc.input.contentHash).toBe(true);
  });
});

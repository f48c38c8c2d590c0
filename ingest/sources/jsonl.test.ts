import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlReader } from './jsonl.ts';
import { collect, sourceConfig, tempDir } from './test-helpers.ts';

const dir = tempDir('jsonl');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = sourceConfig({ mapping: { title: 'headline', body: 'content' } });

describe('JsonlReader', () => {
  it('streams records and quarantines malformed lines with their line number', async () => {
    const file = path.join(dir, 'news.jsonl');
    fs.writeFileSync(
      file,
      [
        '\uFEFF{"id":"a","headline":"A","content":"alpha"}',
        '',
        '{"id":"b","headline":"B","content":"beta"}\r',
        '{"id":"c","headline":"C","content":"gam',
        '[1,2]',
        '   ',
        '{"id":"a","headline":"A again","content":"alpha 2"}',
        '{"id":"d","content":""}',
        '{"id":"e","content":"eps","date":"x"}',
        '{"id":"f","content":"phi"}',
      ].join('\n'),
    );
    const { ok, bad, all } = await collect(new JsonlReader(file, sourceConfig({ mapping: { title: 'headline', body: 'content', published_at: 'date' } })));
    expect(ok.map((i) => [i.record.externalId, i.record.title, i.locator])).toEqual([
      ['a', 'A', 'news.jsonl:1'],
      ['b', 'B', 'news.jsonl:3'],
      ['f', '', 'news.jsonl:10'],
    ]);
    expect(bad.map((i) => [i.locator, i.reason])).toEqual([
      ['news.jsonl:4', 'invalid_json'],
      ['news.jsonl:5', 'invalid_record'],
      ['news.jsonl:7', 'duplicate_id'],
      ['news.jsonl:8', 'missing_body'],
      ['news.jsonl:9', 'invalid_date'],
    ]);
    // Nothing is lost: the raw line comes with every quarantined item, in file order.
    expect(bad[0].raw).toBe('{"id":"c","headline":"C","content":"gam');
    expect(bad[2].detail).toContain('news.jsonl:1');
    expect(all.map((i) => i.locator)).toEqual(['news.jsonl:1', 'news.jsonl:3', 'news.jsonl:4', 'news.jsonl:5', 'news.jsonl:7', 'news.jsonl:8', 'news.jsonl:9', 'news.jsonl:10']);
  });

  it('reads an empty file as no records', async () => {
    const file = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(file, '');
    expect((await collect(new JsonlReader(file, config))).all).toEqual([]);
  });

  it('throws when the file cannot be opened', async () => {
    await expect(collect(new JsonlReader(path.join(dir, 'nope.jsonl'), config))).rejects.toThrow(/ENOENT/);
  });
});

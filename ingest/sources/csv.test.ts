import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvReader } from './csv.ts';
import { collect, sourceConfig, tempDir } from './test-helpers.ts';

const dir = tempDir('csv');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const config = sourceConfig({ name: 'c', type: 'csv', kind: 'comment', mapping: { id: 'comment_id', body: 'text', published_at: 'posted_at', author: 'meta.user' } });

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('CsvReader', () => {
  it('parses quoted commas, quotes and newlines and quarantines rows with the wrong column count', async () => {
    const file = write(
      'comments.csv',
      [
        '\uFEFFcomment_id,meta.user,posted_at,text,tags',
        'c1,ann,2025/03/04 10:20,"Good, solid ""bot""",a;b',
        'c2,bob,2025-03-05,"line one',
        'line two",x',
        'c3,cy,2025-03-06,too few',
        '',
        'c4,dee,1741083600,"plain",',
        'c1,eve,2025-03-07,again,',
        'c5,fay,2025-03-08,,',
        'c6,gus,not a date,text,',
        'c7,hal,2025-03-09,stray "quote" inside,',
      ].join('\n'),
    );
    const { ok, bad } = await collect(new CsvReader(file, config));
    expect(ok.map((i) => [i.record.externalId, i.record.body, i.locator])).toEqual([
      ['c1', 'Good, solid "bot"', 'comments.csv:2'],
      ['c2', 'line one\nline two', 'comments.csv:3'],
      ['c4', 'plain', 'comments.csv:7'],
      ['c7', 'stray "quote" inside', 'comments.csv:11'],
    ]);
    expect(ok[0].record).toMatchObject({ kind: 'comment', author: 'ann', publishedAt: '2025-03-04T10:20:00.000Z', tags: ['a', 'b'] });
    expect(ok[2].record.publishedAt).toBe('2025-03-04T10:20:00.000Z');
    expect(bad.map((i) => [i.locator, i.reason])).toEqual([
      ['comments.csv:5', 'invalid_csv_row'],
      ['comments.csv:8', 'duplicate_id'],
      ['comments.csv:9', 'missing_body'],
      ['comments.csv:10', 'invalid_date'],
    ]);
    expect(bad[0].raw).toBe('c3,cy,2025-03-06,too few');
    expect(bad[0].detail).toMatch(/4 fields.*5/);
  });

  it('quarantines an unclosed quote together with the rest of the file, losing nothing', async () => {
    const file = write('unclosed.csv', 'comment_id,meta.user,posted_at,text\nc1,a,2025-01-01,fine\nc2,b,2025-01-02,"never closed\nc3,c,2025-01-03,swallowed\n');
    const { ok, bad } = await collect(new CsvReader(file, config));
    expect(ok.map((i) => i.record.externalId)).toEqual(['c1']);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ reason: 'invalid_csv_row', locator: 'unclosed.csv:3' });
    expect(bad[0].raw).toContain('never closed');
    expect(bad[0].raw).toContain('swallowed');
  });

  it('rejects a header with a duplicate column as a whole-file error', async () => {
    const file = write('duphdr.csv', 'comment_id,text,text\n1,a,b\n');
    await expect(collect(new CsvReader(file, config))).rejects.toThrow(/duplicate column "text"/);
  });

  it('reads an empty or header-only file as no records', async () => {
    expect((await collect(new CsvReader(write('empty.csv', ''), config))).all).toEqual([]);
    expect((await collect(new CsvReader(write('hdr.csv', 'comment_id,text\n'), config))).all).toEqual([]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonArrayReader } from './json.ts';
import { collect, sourceConfig, tempDir } from './test-helpers.ts';

const dir = tempDir('json');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const config = sourceConfig({ name: 'arr', type: 'json', mapping: { id: 'meta.id', body: 'text' } });

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('JsonArrayReader', () => {
  it('maps each element and quarantines bad ones by index', async () => {
    const file = write('a.json', JSON.stringify([{ meta: { id: 1 }, text: 'one' }, 'oops', { meta: { id: 2 } }, { meta: { id: 1 }, text: 'dup' }, { meta: { id: 3 }, text: 'three' }]));
    const { ok, bad } = await collect(new JsonArrayReader(file, config));
    expect(ok.map((i) => [i.record.externalId, i.locator])).toEqual([
      ['1', 'a.json[0]'],
      ['3', 'a.json[4]'],
    ]);
    expect(bad.map((i) => [i.locator, i.reason])).toEqual([
      ['a.json[1]', 'invalid_record'],
      ['a.json[2]', 'missing_body'],
      ['a.json[3]', 'duplicate_id'],
    ]);
    expect(bad[0].raw).toBe('"oops"');
  });

  it('fails as a whole, naming the source, when the file is not a JSON array', async () => {
    const obj = write('obj.json', '{"records": []}');
    await expect(collect(new JsonArrayReader(obj, config))).rejects.toThrow(/source "arr".*expected a JSON array of records at the top level, got an object/);
    const broken = write('broken.json', '[{"a": 1},');
    await expect(collect(new JsonArrayReader(broken, config))).rejects.toThrow(/source "arr".*not valid JSON/);
  });

  it('accepts a BOM and an empty array', async () => {
    const file = write('bom.json', '\uFEFF[]');
    expect((await collect(new JsonArrayReader(file, config))).all).toEqual([]);
  });
});

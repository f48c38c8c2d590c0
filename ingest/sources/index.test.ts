import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvReader, FolderReader, JsonArrayReader, JsonlReader, openSource } from './index.ts';
import { collect, sourceConfig, tempDir } from './test-helpers.ts';

const dir = tempDir('open');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('openSource', () => {
  it('picks the reader by type and resolves relative paths against the data folder', async () => {
    fs.mkdirSync(path.join(dir, 'in', 'posts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'in', 'a.jsonl'), '{"id":"1","body":"x"}\n');
    fs.writeFileSync(path.join(dir, 'in', 'a.csv'), 'id,body\n1,x\n');
    fs.writeFileSync(path.join(dir, 'in', 'a.json'), '[{"id":"1","body":"x"}]');
    fs.writeFileSync(path.join(dir, 'in', 'posts', 'p.md'), '# T\nx');
    expect(openSource(sourceConfig({ type: 'jsonl', path: 'in/a.jsonl' }), dir)).toBeInstanceOf(JsonlReader);
    expect(openSource(sourceConfig({ type: 'csv', path: 'in/a.csv' }), dir)).toBeInstanceOf(CsvReader);
    expect(openSource(sourceConfig({ type: 'json', path: 'in/a.json' }), dir)).toBeInstanceOf(JsonArrayReader);
    expect(openSource(sourceConfig({ type: 'folder', path: 'in/posts' }), dir)).toBeInstanceOf(FolderReader);
    // An absolute path ignores the data folder.
    const abs = openSource(sourceConfig({ type: 'jsonl', path: path.join(dir, 'in', 'a.jsonl') }), '/elsewhere');
    expect((await collect(abs)).ok.map((i) => i.record.externalId)).toEqual(['1']);
  });

  it('throws a clear error naming the source and path when it is missing or the wrong kind', () => {
    expect(() => openSource(sourceConfig({ name: 'news', type: 'jsonl', path: 'missing.jsonl' }), dir)).toThrow(
      `source "news": jsonl path ${path.join(dir, 'missing.jsonl')} does not exist`,
    );
    fs.mkdirSync(path.join(dir, 'adir'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'afile.txt'), 'x');
    expect(() => openSource(sourceConfig({ name: 'posts', type: 'folder', path: 'afile.txt' }), dir)).toThrow(/source "posts": folder path .* is not a folder/);
    expect(() => openSource(sourceConfig({ name: 'csv', type: 'csv', path: 'adir' }), dir)).toThrow(/source "csv": csv path .* is not a file/);
  });
});

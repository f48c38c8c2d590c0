import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../src/config/index.ts';
import { estimateRecords } from './estimate.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-estimate-'));
const src = (type: SourceConfig['type'], p: string): SourceConfig => ({ name: 's', type, path: p, mode: 'full', kind: 'news', mapping: {}, acl_groups: [] });

describe('estimateRecords', () => {
  it('counts JSONL lines (with or without a final newline), CSV rows and folder files', () => {
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '{"id":1}\n{"id":2}\n{"id":3}');
    fs.writeFileSync(path.join(dir, 'b.jsonl'), '{"id":1}\n{"id":2}\n');
    fs.writeFileSync(path.join(dir, 'c.csv'), 'id,body\n1,x\n2,y\n');
    fs.mkdirSync(path.join(dir, 'posts/sub'), { recursive: true });
    for (const f of ['posts/a.md', 'posts/sub/b.txt', 'posts/.hidden']) fs.writeFileSync(path.join(dir, f), 'x');
    expect(estimateRecords(src('jsonl', 'a.jsonl'), dir)).toBe(3);
    expect(estimateRecords(src('jsonl', 'b.jsonl'), dir)).toBe(2);
    expect(estimateRecords(src('csv', 'c.csv'), dir)).toBe(2);
    expect(estimateRecords(src('folder', 'posts'), dir)).toBe(2);
  });

  it('says unknown for a JSON array or a missing path instead of failing', () => {
    expect(estimateRecords(src('json', 'x.json'), dir)).toBeNull();
    expect(estimateRecords(src('jsonl', 'missing.jsonl'), dir)).toBeNull();
  });
});

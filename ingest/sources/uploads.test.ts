import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeFileName } from '../uploads/store.ts';
import type { SourceItem } from './types.ts';
import { UPLOAD_META_FILE, UploadsReader } from './uploads.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-uploads-src-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const source = { name: 'uploads', type: 'folder' as const, path: '', mode: 'full' as const, kind: 'news' as const, mapping: {}, acl_groups: [] };
const meta = (id: string, groups: string[]) => ({ id, acl_groups: groups, kind: 'post', uploaded_by: { key_id: 3, name: 'k' }, created_at: 'now', files: [], records: 0 });

async function read(): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of new UploadsReader(dir, { ...source, path: dir }).read()) out.push(item);
  return out;
}

describe('UploadsReader', () => {
  it('applies the upload metadata (ACL, kind) over anything the file says, and quarantines files without valid metadata', async () => {
    fs.mkdirSync(path.join(dir, 'aaaaaaaa01'));
    fs.writeFileSync(path.join(dir, 'aaaaaaaa01', 'x.md'), '---\ntitle: T\nacl_groups: []\nkind: news\n---\nbody text here');
    fs.writeFileSync(path.join(dir, 'aaaaaaaa01', UPLOAD_META_FILE), JSON.stringify(meta('aaaaaaaa01', ['sales'])));
    fs.mkdirSync(path.join(dir, 'aaaaaaaa02'));
    fs.writeFileSync(path.join(dir, 'aaaaaaaa02', 'y.txt'), 'no metadata here');
    fs.mkdirSync(path.join(dir, 'aaaaaaaa03'));
    fs.writeFileSync(path.join(dir, 'aaaaaaaa03', 'z.txt'), 'broken metadata');
    fs.writeFileSync(path.join(dir, 'aaaaaaaa03', UPLOAD_META_FILE), '{"id": "aaaaaaaa03", "acl_groups": "sales"}');
    fs.writeFileSync(path.join(dir, 'loose.txt'), 'dropped in by hand');
    const items = await read();
    const byLocator = Object.fromEntries(items.map((i) => [i.locator, i]));
    expect(byLocator['aaaaaaaa01/x.md']).toMatchObject({ ok: true, record: { externalId: 'aaaaaaaa01/x.md', title: 'T', aclGroups: ['sales'], kind: 'post' } });
    expect(byLocator['aaaaaaaa02/y.txt']).toMatchObject({ ok: false, reason: 'invalid_upload', detail: expect.stringMatching(/missing/) });
    expect(byLocator['aaaaaaaa03/z.txt']).toMatchObject({ ok: false, reason: 'invalid_upload', detail: expect.stringMatching(/acl_groups/) });
    expect(byLocator['loose.txt']).toMatchObject({ ok: false, reason: 'invalid_upload' });
    // The metadata file itself and staging folders are never content.
    expect(items).toHaveLength(4);
  });
});

describe('safeFileName', () => {
  it('keeps the name readable and the extension, and removes paths, hidden-file dots and control characters', () => {
    expect(safeFileName('../../etc/passwd.txt')).toBe('passwd.txt');
    expect(safeFileName('C:\\Users\\me\\报告 2026.PDF')).toBe('报告 2026.pdf');
    expect(safeFileName('.hidden.md')).toBe('hidden.md');
    expect(safeFileName('a\u0000b<c>.txt')).toBe('a_b_c_.txt');
    expect(safeFileName('.md')).toBe('file.md');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderReader } from './folder.ts';
import { collect, sourceConfig, tempDir } from './test-helpers.ts';

const dir = tempDir('folder');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(rel: string, content: string | Buffer, mtime?: string) {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  if (mtime) fs.utimesSync(file, new Date(mtime), new Date(mtime));
}

beforeAll(() => {
  write('a-front.md', '---\ntitle: "Front title"\ndate: 2025-05-06\ntags: [robots, expo]\nauthor: Ann\nurl: https://example.com/a\nkind: comment\n---\n# Not the title\n\nBody text here.\n');
  write('b-heading.md', 'Intro line\n\n# Heading Title #\n\nMore.\n', '2024-01-02T03:04:05Z');
  write('c.txt', '\n\n  First line title  \nsecond line\n', '2024-02-03T00:00:00Z');
  write('d.html', '<html><head><title>Page &amp; Title</title><meta name="author" content="Bo"><meta property="article:published_time" content="2025-01-02T08:00:00+08:00"><meta name="keywords" content="x,y"></head><body><h1>H1</h1><p>Para</p></body></html>');
  write('sub/deeper/e.htm', '<body><h1>Only <b>H1</b></h1><p>text</p></body>');
  write('.hidden.txt', 'secret');
  write('.git/config', 'not content');
  write('sub/image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  write('bad-date.md', '---\ndate: someday\n---\nBody\n');
  write('bad-yaml.md', '---\ntitle: [unclosed\n---\nBody\n');
  write('binary.txt', Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x00]));
  write('empty.txt', '   \n');
});

describe('FolderReader', () => {
  it('walks recursively in sorted order, skipping hidden entries', async () => {
    const { all } = await collect(new FolderReader(dir, sourceConfig({ type: 'folder', kind: 'post', acl_groups: ['staff'] })));
    expect(all.map((i) => i.locator)).toEqual(['a-front.md', 'b-heading.md', 'bad-date.md', 'bad-yaml.md', 'binary.txt', 'c.txt', 'd.html', 'empty.txt', 'sub/deeper/e.htm', 'sub/image.png']);
  });

  it('extracts titles and metadata per format', async () => {
    const { ok } = await collect(new FolderReader(dir, sourceConfig({ type: 'folder', kind: 'post', acl_groups: ['staff'] })));
    const byId = new Map(ok.map((i) => [i.record.externalId, i.record]));
    expect(byId.get('a-front.md')).toEqual({
      externalId: 'a-front.md',
      kind: 'comment',
      title: 'Front title',
      body: '# Not the title\n\nBody text here.\n',
      url: 'https://example.com/a',
      author: 'Ann',
      publishedAt: '2025-05-06T00:00:00.000Z',
      tags: ['robots', 'expo'],
      aclGroups: ['staff'],
    });
    expect(byId.get('b-heading.md')).toMatchObject({ title: 'Heading Title', kind: 'post', publishedAt: '2024-01-02T03:04:05.000Z' });
    expect(byId.get('c.txt')).toMatchObject({ title: 'First line title', publishedAt: '2024-02-03T00:00:00.000Z' });
    expect(byId.get('d.html')).toMatchObject({ title: 'Page & Title', author: 'Bo', publishedAt: '2025-01-02T00:00:00.000Z', tags: ['x', 'y'] });
    expect(byId.get('d.html')!.body).toContain('<p>Para</p>');
    expect(byId.get('sub/deeper/e.htm')).toMatchObject({ title: 'Only H1' });
  });

  it('quarantines unsupported, undecodable and invalid files with reasons', async () => {
    const { bad } = await collect(new FolderReader(dir, sourceConfig({ type: 'folder' })));
    expect(bad.map((i) => [i.locator, i.reason])).toEqual([
      ['bad-date.md', 'invalid_date'],
      ['bad-yaml.md', 'invalid_front_matter'],
      ['binary.txt', 'invalid_encoding'],
      ['empty.txt', 'missing_body'],
      ['sub/image.png', 'unsupported_file'],
    ]);
    expect(bad.find((i) => i.reason === 'unsupported_file')!.detail).toMatch(/\.png files are not ingested/);
    expect(bad.find((i) => i.reason === 'invalid_front_matter')!.raw).toContain('title: [unclosed');
  });

  it('ignores the source mapping (files carry our field names)', async () => {
    const { ok } = await collect(new FolderReader(dir, sourceConfig({ type: 'folder', mapping: { title: 'nothing', body: 'nothing' } })));
    expect(ok.length).toBe(5);
  });

  it('throws when the folder does not exist', async () => {
    await expect(collect(new FolderReader(path.join(dir, 'missing'), sourceConfig({ type: 'folder' })))).rejects.toThrow(/ENOENT/);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderReader } from '../folder.ts';
import type { SourceItem } from '../types.ts';
import { extractDocuments, pdfDate } from './extract.ts';
import { FileParser } from './runner.ts';
import { makeDocx, makeImageOnlyPdf, makePdf, makePptx, makeXlsx } from './test-fixtures.ts';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe('extractDocuments', () => {
  it('reads PDF text per page with the document properties', async () => {
    const pdf = await makePdf(['Drones inspect wind turbines.', 'Robots weld car frames.'], { title: 'Automation report', author: 'Li Wei' });
    const r = await extractDocuments(pdf, 'pdf');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [doc] = r.documents;
    expect(doc.pages).toEqual(['Drones inspect wind turbines.', 'Robots weld car frames.']);
    expect(doc.body).toBe(doc.pages!.join('\n\n'));
    expect(doc.title).toBe('Automation report');
    expect(doc.author).toBe('Li Wei');
    expect(doc.publishedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('reads DOCX paragraphs and takes the first line as the title', async () => {
    const r = await extractDocuments(await makeDocx('Quarterly report', ['Revenue grew by 12 percent.', 'Margins held.']), 'docx');
    expect(r).toMatchObject({ ok: true, documents: [{ title: 'Quarterly report', idSuffix: '' }] });
    if (r.ok) expect(r.documents[0].body).toBe('Quarterly report\n\nRevenue grew by 12 percent.\n\nMargins held.');
  });

  it('reads PPTX one page per slide', async () => {
    const r = await extractDocuments(await makePptx(['Exhibition plan 2026', 'Conference schedule']), 'pptx');
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.documents[0].pages).toEqual(['Exhibition plan 2026', 'Conference schedule']);
      expect(r.documents[0].title).toBe('Exhibition plan 2026');
    }
  });

  it('reads XLSX as one document per non-empty sheet, rows as header: value lines', async () => {
    const xlsx = await makeXlsx({
      Products: [['name', 'price', 'maker'], ['Drone X', 100, 'Ruichi'], ['Robot Y', 200, '']],
      Empty: [],
      Staff: [['person', 'role'], ['Zhang San', 'CTO']],
    });
    const r = await extractDocuments(xlsx, 'xlsx');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.documents.map((d) => [d.idSuffix, d.title])).toEqual([['#Products', 'Products'], ['#Staff', 'Staff']]);
    expect(r.documents[0].body).toBe('name: Drone X\nprice: 100\nmaker: Ruichi\n\nname: Robot Y\nprice: 200');
  });

  it('names why a file is refused: encrypted, corrupt, no text layer', async () => {
    expect(await extractDocuments(fixture('encrypted.pdf'), 'pdf')).toMatchObject({ ok: false, reason: 'encrypted_file' });
    // An encrypted OOXML package is an OLE compound file, not a ZIP.
    const cfb = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(512)]);
    for (const f of ['docx', 'pptx', 'xlsx'] as const) expect(await extractDocuments(cfb, f)).toMatchObject({ ok: false, reason: 'encrypted_file' });
    expect(await extractDocuments(Buffer.from('%PDF-1.7\nnot really a pdf'), 'pdf')).toMatchObject({ ok: false, reason: 'corrupt_file' });
    const docx = await makeDocx('Title', ['Body text']);
    const truncated = docx.subarray(0, Math.floor(docx.length / 2));
    expect(await extractDocuments(truncated, 'docx')).toMatchObject({ ok: false, reason: 'corrupt_file' });
    expect(await extractDocuments(Buffer.from('plain text pretending'), 'xlsx')).toMatchObject({ ok: false, reason: 'corrupt_file' });
    expect(await extractDocuments(await makeImageOnlyPdf(3), 'pdf')).toMatchObject({ ok: false, reason: 'no_text_layer', detail: expect.stringContaining('3 page(s)') });
  });

  it('parses PDF dates with and without zones', () => {
    expect(pdfDate('D:20240131120000Z')).toBe('2024-01-31T12:00:00.000Z');
    expect(pdfDate("D:20240131200000+08'00'")).toBe('2024-01-31T12:00:00.000Z');
    expect(pdfDate('D:2024')).toBe('2024-01-01T00:00:00.000Z');
    expect(pdfDate('yesterday')).toBeUndefined();
  });
});

describe('FileParser', () => {
  it('stops a parser that hangs and recovers with a fresh worker for the next file', async () => {
    const parser = new FileParser({ timeoutMs: 300, workerUrl: new URL('./fixtures/hang-worker.mjs', import.meta.url) });
    try {
      expect(await parser.parse(Buffer.from('x'), 'pdf')).toMatchObject({ ok: false, reason: 'parse_timeout', detail: expect.stringContaining('300 ms') });
      expect(await parser.parse(Buffer.from('x'), 'docx')).toMatchObject({ ok: true });
    } finally {
      await parser.close();
    }
  });

  it('parses real files in its worker, one after another', async () => {
    const parser = new FileParser({ timeoutMs: 30_000 });
    try {
      const [a, b] = await Promise.all([parser.parse(await makePdf(['one']), 'pdf'), parser.parse(await makeDocx('Two', ['two']), 'docx')]);
      expect(a).toMatchObject({ ok: true, documents: [{ body: 'one' }] });
      expect(b).toMatchObject({ ok: true, documents: [{ title: 'Two' }] });
    } finally {
      await parser.close();
    }
  });
});

describe('FolderReader with document files', () => {
  let dir: string;
  const items: SourceItem[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-office-'));
    fs.writeFileSync(path.join(dir, 'report.pdf'), await makePdf(['Page one about drones.', 'Page two about robots.']));
    fs.writeFileSync(path.join(dir, 'memo.docx'), await makeDocx('Memo', ['Budget approved for 2026.']));
    fs.writeFileSync(path.join(dir, 'deck.pptx'), await makePptx(['Slide one', 'Slide two']));
    fs.writeFileSync(path.join(dir, 'prices.xlsx'), await makeXlsx({ Q1: [['item', 'price'], ['Drone', 100]], Q2: [['item', 'price'], ['Robot', 200]] }));
    fs.writeFileSync(path.join(dir, 'scan.pdf'), await makeImageOnlyPdf());
    fs.writeFileSync(path.join(dir, 'locked.pdf'), fixture('encrypted.pdf'));
    fs.writeFileSync(path.join(dir, 'broken.docx'), 'not a zip');
    fs.writeFileSync(path.join(dir, 'huge.pdf'), Buffer.alloc(200_000, 0x20));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'Plain notes\nstill supported');
    fs.writeFileSync(path.join(dir, 'legacy.doc'), 'old binary format');
    const reader = new FolderReader(dir, { name: 'files', kind: 'post', mapping: {}, acl_groups: [] } as never, {
      max_bytes: 150_000,
      parse_timeout_ms: 30_000,
      parser_max_heap_mb: 512,
    });
    for await (const item of reader.read()) items.push(item);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ok = () => items.filter((i): i is Extract<SourceItem, { ok: true }> => i.ok);
  const rejected = () => Object.fromEntries(items.filter((i) => !i.ok).map((i) => [i.locator, (i as { reason: string }).reason]));

  it('ingests every supported format, one document per sheet, pages kept', () => {
    const byId = Object.fromEntries(ok().map((i) => [i.record.externalId, i.record]));
    expect(Object.keys(byId).sort()).toEqual(['deck.pptx', 'memo.docx', 'notes.txt', 'prices.xlsx#Q1', 'prices.xlsx#Q2', 'report.pdf']);
    expect(byId['report.pdf'].pages).toEqual(['Page one about drones.', 'Page two about robots.']);
    expect(byId['deck.pptx'].pages).toHaveLength(2);
    expect(byId['memo.docx'].pages).toBeUndefined();
    expect(byId['prices.xlsx#Q2'].body).toBe('item: Robot\nprice: 200');
    expect(byId['memo.docx'].kind).toBe('post');
  });

  it('quarantines each bad file with a specific reason', () => {
    expect(rejected()).toEqual({
      'scan.pdf': 'no_text_layer',
      'locked.pdf': 'encrypted_file',
      'broken.docx': 'corrupt_file',
      'huge.pdf': 'file_too_large',
      'legacy.doc': 'unsupported_file',
    });
  });
});

// Text extraction for binary document formats, each through a library made for it:
// PDF → unpdf (pdf.js), DOCX → mammoth, PPTX → officeparser, XLSX → exceljs. This module does the
// parsing itself; callers run it inside a worker with a time limit (see runner.ts), because a
// malicious or broken file can keep a parser busy forever and pdf.js cannot be interrupted.

import ExcelJS from 'exceljs';
import mammoth from 'mammoth';
import { parseOffice } from 'officeparser';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';

export type BinaryFormat = 'pdf' | 'docx' | 'pptx' | 'xlsx';

/** File extensions handled here, by format. */
export const binaryFormats: Record<string, BinaryFormat> = {
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.pptx': 'pptx',
  '.xlsx': 'xlsx',
};

/** One document extracted from a file (an XLSX file yields one per sheet). */
export interface ExtractedDocument {
  /** Appended to the file's id to keep documents of one file apart ("#Sheet1"); '' for one-document files. */
  idSuffix: string;
  title: string;
  /** Plain text; pages (PDF) or slides (PPTX) are separated by a blank line. */
  body: string;
  /** Text per page/slide when the format has pages: body === pages.join('\n\n'). */
  pages?: string[];
  author?: string;
  publishedAt?: string;
}

/** Reasons a file is quarantined instead of ingested (stable names: they are in the quarantine table). */
export type ExtractRejectReason = 'encrypted_file' | 'corrupt_file' | 'no_text_layer' | 'file_too_large' | 'parse_timeout';

export type ExtractResult =
  | { ok: true; documents: ExtractedDocument[] }
  | { ok: false; reason: ExtractRejectReason; detail: string };

// OOXML files are ZIP archives; an encrypted one is an OLE compound file (the password-protected
// package is wrapped in CFB), so the signature tells "encrypted" apart from "corrupt".
const ZIP_MAGIC = Buffer.from([0x50, 0x4b]);
const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

/** Minimum non-space characters for a file to count as having text (an image-only scan has none). */
const MIN_TEXT_CHARS = 1;

function hasText(s: string): boolean {
  return s.replace(/\s+/g, '').length >= MIN_TEXT_CHARS;
}

function firstLine(s: string): string {
  for (const line of s.split('\n')) if (line.trim()) return line.trim().slice(0, 200);
  return '';
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}

function ooxmlSignatureProblem(buf: Buffer, format: BinaryFormat): ExtractResult | null {
  if (buf.subarray(0, CFB_MAGIC.length).equals(CFB_MAGIC)) {
    return { ok: false, reason: 'encrypted_file', detail: `password-protected ${format.toUpperCase()} (an encrypted OOXML package); remove the password and upload again` };
  }
  if (!buf.subarray(0, 2).equals(ZIP_MAGIC)) {
    return { ok: false, reason: 'corrupt_file', detail: `not a ${format.toUpperCase()} file: an OOXML file is a ZIP archive, this one does not start with a ZIP signature` };
  }
  return null;
}

/** PDF date "D:20240131120000Z" / "D:20240131120000+08'00'" → ISO 8601, or undefined. */
export function pdfDate(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?\d{2}'?)?/.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', zone] = m;
  const tz = !zone || zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.replace(/'/g, '').slice(3, 5)}`;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${tz}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

async function extractPdf(buf: Buffer): Promise<ExtractResult> {
  let proxy;
  try {
    proxy = await getDocumentProxy(new Uint8Array(buf), { isEvalSupported: false, verbosity: 0 } as never);
  } catch (err) {
    const name = (err as Error)?.name ?? '';
    if (name === 'PasswordException') return { ok: false, reason: 'encrypted_file', detail: 'password-protected PDF; remove the password and upload again' };
    return { ok: false, reason: 'corrupt_file', detail: `PDF could not be opened: ${message(err)}` };
  }
  try {
    const { text } = await extractText(proxy, { mergePages: false });
    const pages = (text as string[]).map((p) => p.replace(/\r\n?/g, '\n').trim());
    if (!pages.some(hasText)) {
      return { ok: false, reason: 'no_text_layer', detail: `${pages.length} page(s) with no text layer (a scanned or image-only PDF; OCR is not performed)` };
    }
    const info = ((await getMeta(proxy)).info ?? {}) as Record<string, unknown>;
    const title = typeof info.Title === 'string' && info.Title.trim() ? info.Title.trim() : firstLine(pages.find(hasText) ?? '');
    const doc: ExtractedDocument = { idSuffix: '', title, body: pages.join('\n\n'), pages };
    if (typeof info.Author === 'string' && info.Author.trim()) doc.author = info.Author.trim();
    const date = pdfDate(info.CreationDate) ?? pdfDate(info.ModDate);
    if (date) doc.publishedAt = date;
    return { ok: true, documents: [doc] };
  } catch (err) {
    return { ok: false, reason: 'corrupt_file', detail: `PDF text could not be read: ${message(err)}` };
  } finally {
    await proxy.destroy().catch(() => undefined);
  }
}

async function extractDocx(buf: Buffer): Promise<ExtractResult> {
  const bad = ooxmlSignatureProblem(buf, 'docx');
  if (bad) return bad;
  let value: string;
  try {
    ({ value } = await mammoth.extractRawText({ buffer: buf }));
  } catch (err) {
    return { ok: false, reason: 'corrupt_file', detail: `DOCX could not be read: ${message(err)}` };
  }
  const body = value.replace(/\r\n?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  if (!hasText(body)) return { ok: false, reason: 'no_text_layer', detail: 'DOCX has no text (only images or empty)' };
  return { ok: true, documents: [{ idSuffix: '', title: firstLine(body), body }] };
}

interface OfficeNode {
  type?: string;
  text?: string;
  children?: OfficeNode[];
  metadata?: Record<string, unknown>;
}

function nodeText(n: OfficeNode): string {
  if (n.children?.length) return n.children.map(nodeText).filter(Boolean).join('\n');
  return (n.text ?? '').trim();
}

async function extractPptx(buf: Buffer): Promise<ExtractResult> {
  const bad = ooxmlSignatureProblem(buf, 'pptx');
  if (bad) return bad;
  let ast: { content: OfficeNode[]; metadata?: Record<string, unknown> };
  try {
    ast = (await parseOffice(buf, { ocr: false, ignoreNotes: false } as never)) as never;
  } catch (err) {
    return { ok: false, reason: 'corrupt_file', detail: `PPTX could not be read: ${message(err)}` };
  }
  const slides = ast.content.filter((n) => n.type === 'slide');
  const pages = (slides.length ? slides : ast.content).map((n) => nodeText(n).replace(/\n{3,}/g, '\n\n').trim());
  if (!pages.some(hasText)) return { ok: false, reason: 'no_text_layer', detail: `${pages.length} slide(s) with no text (images only)` };
  const meta = ast.metadata ?? {};
  // Generators stamp placeholder titles ("PowerPoint Presentation"); the first slide's first line is better.
  const firstSlideTitle = firstLine(pages.find(hasText) ?? '');
  const doc: ExtractedDocument = { idSuffix: '', title: firstSlideTitle, body: pages.join('\n\n'), pages };
  if (typeof meta.author === 'string' && meta.author.trim()) doc.author = meta.author.trim();
  if (typeof meta.created === 'string' || meta.created instanceof Date) {
    const d = new Date(meta.created as string);
    if (!Number.isNaN(d.getTime())) doc.publishedAt = d.toISOString();
  }
  return { ok: true, documents: [doc] };
}

/** A cell's value as display text (rich text, formulas, hyperlinks, dates). */
export function cellText(v: ExcelJS.CellValue): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    if ('richText' in v && Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('result' in v) return cellText((v as { result?: ExcelJS.CellValue }).result ?? null);
    if ('error' in v) return '';
    return '';
  }
  return String(v).trim();
}

/**
 * One document per non-empty sheet. The first non-empty row is the header; every following row
 * becomes one paragraph of "header: value" lines, so a chunk keeps its column names and a
 * question about "the price of Drone X" matches the row that holds both.
 */
async function extractXlsx(buf: Buffer): Promise<ExtractResult> {
  const bad = ooxmlSignatureProblem(buf, 'xlsx');
  if (bad) return bad;
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as never);
  } catch (err) {
    return { ok: false, reason: 'corrupt_file', detail: `XLSX could not be read: ${message(err)}` };
  }
  const documents: ExtractedDocument[] = [];
  wb.eachSheet((ws) => {
    const rows: string[][] = [];
    ws.eachRow({ includeEmpty: false }, (row) => {
      const values = Array.isArray(row.values) ? row.values.slice(1) : [];
      const cells = values.map((v) => cellText(v as ExcelJS.CellValue));
      if (cells.some((c) => c !== '')) rows.push(cells);
    });
    if (!rows.length) return;
    const [header, ...data] = rows;
    const names = header.map((h, i) => h || `column ${i + 1}`);
    const paragraphs = data.length
      ? data.map((r) => r.map((c, i) => (c === '' ? '' : `${names[i] ?? `column ${i + 1}`}: ${c}`)).filter(Boolean).join('\n'))
      : [names.join(' | ')];
    const body = paragraphs.filter(Boolean).join('\n\n');
    if (!hasText(body)) return;
    documents.push({ idSuffix: `#${ws.name}`, title: ws.name, body });
  });
  if (!documents.length) return { ok: false, reason: 'no_text_layer', detail: 'every sheet is empty' };
  // exceljs stamps "Unknown" when a workbook has no creator.
  const creator = wb.creator?.trim() === "Unknown" ? undefined : wb.creator?.trim();
  const created = wb.created instanceof Date && !Number.isNaN(wb.created.getTime()) ? wb.created.toISOString() : undefined;
  for (const d of documents) {
    if (creator) d.author = creator;
    if (created) d.publishedAt = created;
  }
  return { ok: true, documents };
}

/** Extracts the documents of one file. Never throws for bad input: a bad file is a reason. */
export async function extractDocuments(buf: Buffer, format: BinaryFormat): Promise<ExtractResult> {
  try {
    if (format === 'pdf') return await extractPdf(buf);
    if (format === 'docx') return await extractDocx(buf);
    if (format === 'pptx') return await extractPptx(buf);
    return await extractXlsx(buf);
  } catch (err) {
    return { ok: false, reason: 'corrupt_file', detail: `${format.toUpperCase()} could not be read: ${message(err)}` };
  }
}

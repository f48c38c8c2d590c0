import ExcelJS from 'exceljs';
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import PptxGenJSModule from 'pptxgenjs';

// Builds real document files for tests with the libraries that write them (no committed binaries).

// pptxgenjs's types describe an ES default export; under NodeNext they resolve to the CommonJS
// module object, while at run time the default import is the class itself.
const PptxGenJS = PptxGenJSModule as unknown as typeof PptxGenJSModule.default;

/** A PDF with one text page per entry of `pages` (Latin text: the standard fonts have no CJK). */
export async function makePdf(pages: string[], opts: { title?: string; author?: string } = {}): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const text of pages) {
    const page = pdf.addPage();
    text.split('\n').forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 16, size: 11, font }));
  }
  if (opts.title) pdf.setTitle(opts.title);
  if (opts.author) pdf.setAuthor(opts.author);
  return Buffer.from(await pdf.save());
}

/** A PDF whose pages carry no text layer (as a scan would). */
export async function makeImageOnlyPdf(pageCount = 2): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  for (let i = 0; i < pageCount; i++) pdf.addPage().drawRectangle({ x: 50, y: 50, width: 200, height: 100 });
  return Buffer.from(await pdf.save());
}

export async function makeDocx(heading: string, paragraphs: string[]): Promise<Buffer> {
  const doc = new Document({
    sections: [{ children: [new Paragraph({ text: heading, heading: HeadingLevel.HEADING_1 }), ...paragraphs.map((p) => new Paragraph(p))] }],
  });
  return Packer.toBuffer(doc);
}

export async function makePptx(slides: string[]): Promise<Buffer> {
  const pptx = new PptxGenJS();
  for (const text of slides) pptx.addSlide().addText(text, { x: 0.5, y: 0.5, w: 9, h: 1 });
  return (await pptx.write({ outputType: 'nodebuffer' })) as Buffer;
}

/** An XLSX with one sheet per entry: rows[0] is the header row. */
export async function makeXlsx(sheets: Record<string, (string | number)[][]>): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name);
    for (const r of rows) ws.addRow(r);
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';

// Generated PDF and DOCX files for upload tests (no binary fixtures in the repository).

export async function pdfFixture(title: string, body: string): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const page = pdf.addPage([595, 842]);
  page.drawText(title, { x: 50, y: 780, size: 18, font });
  page.drawText(body, { x: 50, y: 740, size: 11, font, maxWidth: 495, lineHeight: 15 });
  return Buffer.from(await pdf.save());
}

export async function docxFixture(title: string, body: string): Promise<Buffer> {
  const doc = new Document({ sections: [{ children: [new Paragraph({ text: title, heading: HeadingLevel.HEADING_1 }), new Paragraph(body)] }] });
  return Packer.toBuffer(doc);
}

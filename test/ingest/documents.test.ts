import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { listQuarantine } from '../../ingest/quarantine.ts';
import { makeDocx, makeImageOnlyPdf, makePdf, makeXlsx } from '../../ingest/sources/office/test-fixtures.ts';
import { citationsFor, packContext } from '../../src/llm/prompt.ts';
import { openRetriever } from '../../src/retrieval/open.ts';
import { makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// Office and PDF files through the whole weekly job: folder source → worker-thread parsing →
// cleaning → chunks that know their page → retrieval hits and chat citations with that page.

let env: IngestEnv;
afterEach(() => env?.close());

const filler = (topic: string) =>
  Array.from({ length: 6 }, (_, i) => `Paragraph ${i + 1} of the ${topic} section explains results in plain words for readers.`).join('\n');

describe('document files in a folder source', () => {
  it('ingests PDF/DOCX/XLSX, keeps PDF page numbers into hits and citations, quarantines a scan', async () => {
    env = await makeIngestEnv({
      sources: [{ name: 'files', type: 'folder', path: 'files', mode: 'full', kind: 'post' }],
    });
    const dir = path.join(env.dir, 'files');
    fs.mkdirSync(dir);
    const pages = [
      `Annual report\n${filler('introduction')}`,
      `Drones\n${filler('drone')}\nThe quadcopter fleet inspected 1200 turbines.`,
      `Robots\n${filler('robot')}\nThe welding cell reached zircon grade precision.`,
    ];
    fs.writeFileSync(path.join(dir, 'report.pdf'), await makePdf(pages, { title: 'Annual report 2026' }));
    fs.writeFileSync(path.join(dir, 'memo.docx'), await makeDocx('Budget memo', ['The board approved the marmalade budget for the new plant.']));
    fs.writeFileSync(path.join(dir, 'prices.xlsx'), await makeXlsx({ Prices: [['product', 'price'], ['Falcon drone', 1999]] }));
    fs.writeFileSync(path.join(dir, 'scan.pdf'), await makeImageOnlyPdf());

    const report = await runIngestion(env.ctx);
    expect(report.status).toBe('succeeded');
    expect(report.docs).toMatchObject({ new: 3, quarantined: 1 });
    expect(listQuarantine(env.db).map((q) => [q.locator, q.reason])).toEqual([['scan.pdf', 'no_text_layer']]);

    const pageRows = env.db
      .prepare("SELECT c.page FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = 'report.pdf' AND c.retired_at IS NULL ORDER BY c.ordinal")
      .pluck()
      .all() as number[];
    expect(pageRows[0]).toBe(1);
    expect(pageRows.at(-1)).toBe(3);
    expect([...pageRows].sort((a, b) => a - b)).toEqual(pageRows); // pages never go backwards
    const docxPages = env.db.prepare("SELECT c.page FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = 'memo.docx'").pluck().all();
    expect(docxPages).toEqual([null]);

    const opened = await openRetriever(env.config, env.db, undefined, { watch: false });
    try {
      const { hits } = await opened.retriever.retrieve({ query: 'zircon grade welding precision', topK: 3, groups: null, mode: 'bm25' });
      expect(hits[0]).toMatchObject({ externalId: 'report.pdf', title: 'Annual report 2026', page: 3 });
      const drone = await opened.retriever.retrieve({ query: 'quadcopter turbines', topK: 1, groups: null, mode: 'bm25' });
      expect(drone.hits[0]).toMatchObject({ externalId: 'report.pdf', page: 2 });
      const { blocks } = packContext(hits, 2000);
      expect(citationsFor('See [1].', blocks, 'zircon', 120)[0]).toMatchObject({ title: 'Annual report 2026', page: 3 });
      const xlsx = await opened.retriever.retrieve({ query: 'Falcon drone price', topK: 1, groups: null, mode: 'bm25' });
      expect(xlsx.hits[0]).toMatchObject({ externalId: 'prices.xlsx#Prices', page: null });
      expect(xlsx.hits[0].text).toContain('price: 1999');
    } finally {
      await opened.close();
    }

    // Unchanged files cost nothing on the next run; a removed file's document is deleted.
    fs.rmSync(path.join(dir, 'memo.docx'));
    const second = await runIngestion(env.ctx);
    expect(second.docs).toMatchObject({ new: 0, changed: 0, unchanged: 2, deleted: 1 });
  });
});

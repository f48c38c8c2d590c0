import fs from 'node:fs';
import path from 'node:path';
import { parse, type CsvError } from 'csv-parse';
import { rejectDuplicateIds } from './duplicates.ts';
import { mapRecord, type MappingConfig } from './mapping.ts';
import type { SourceItem, SourceReader } from './types.ts';

interface ParsedRow {
  record: string[];
  info: { lines: number };
  raw: string;
}

interface PendingError {
  line: number;
  item: SourceItem;
}

/** The record's text without the blank lines csv-parse folds in front of it or its line ending. */
function trimRaw(raw: string): string {
  return raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
}

/** csv-parse reports the line a record ENDS on; the operator wants the line it starts on. */
function startLine(endLine: number, raw: string): number {
  const body = trimRaw(raw);
  let newlines = 0;
  for (let i = 0; i < body.length; i++) if (body.charCodeAt(i) === 10) newlines++;
  return endLine - newlines;
}

/**
 * CSV with a header row (RFC 4180 quoting: commas, quotes and newlines inside quoted fields),
 * streamed with csv-parse. Stray quotes inside fields are kept as text (relax_quotes) rather than
 * derailing the parser; a row whose field count differs from the header's is quarantined as
 * 'invalid_csv_row'; an unclosed quote quarantines the rest of the file as one 'invalid_csv_row'.
 */
export class CsvReader implements SourceReader {
  constructor(
    private readonly file: string,
    private readonly source: MappingConfig,
  ) {}

  read(): AsyncIterable<SourceItem> {
    return rejectDuplicateIds(this.rows());
  }

  private async *rows(): AsyncGenerator<SourceItem> {
    const label = path.basename(this.file);
    // Parse errors arrive through a callback, possibly before earlier rows are consumed, so they
    // are queued and released in line order.
    const pending: PendingError[] = [];
    const parser = fs.createReadStream(this.file).pipe(
      parse({
        bom: true,
        info: true,
        raw: true,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        on_skip: (err: CsvError | undefined, raw: string | undefined) => {
          const text = raw ?? '';
          const endLine = typeof err?.lines === 'number' ? err.lines : 0;
          const line = startLine(endLine, text);
          pending.push({
            line,
            item: { ok: false, locator: `${label}:${line}`, raw: trimRaw(text), reason: 'invalid_csv_row', detail: err?.message ?? 'unparseable CSV row' },
          });
          return undefined;
        },
      }),
    );
    let header: string[] | null = null;
    try {
      for await (const row of parser as AsyncIterable<ParsedRow>) {
        const line = startLine(row.info.lines, row.raw);
        while (pending.length && pending[0].line < line) yield pending.shift()!.item;
        const raw = trimRaw(row.raw);
        if (header === null) {
          header = row.record.map((h) => h.trim());
          const seen = new Set<string>();
          for (const h of header) {
            if (h && seen.has(h)) throw new Error(`source "${this.source.name}" (${this.file}): duplicate column "${h}" in the header row`);
            seen.add(h);
          }
          continue;
        }
        const locator = `${label}:${line}`;
        if (row.record.length !== header.length) {
          yield {
            ok: false,
            locator,
            raw,
            reason: 'invalid_csv_row',
            detail: `row has ${row.record.length} fields, the header has ${header.length}`,
          };
          continue;
        }
        const obj: Record<string, string> = {};
        for (let i = 0; i < header.length; i++) if (header[i]) obj[header[i]] = row.record[i];
        yield mapRecord(obj, this.source, locator, raw, { csvCells: true });
      }
    } finally {
      parser.destroy();
    }
    while (pending.length) yield pending.shift()!.item;
  }
}

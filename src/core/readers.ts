import fs from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { describeFsError } from '../util/fs-errors.ts';

// Reads core-record files (CSV with a header row, JSONL, or a JSON array) into raw rows with a
// locator (file:line or file#index) so a bad row can be quarantined and found again.

export type CoreFormat = 'csv' | 'jsonl' | 'json';

export interface RawRow {
  locator: string;
  /** The row as read, for the quarantine. */
  raw: string;
  /** Parsed row; absent when the row could not be parsed. */
  row?: unknown;
  error?: string;
}

export function detectFormat(file: string): CoreFormat {
  const ext = path.extname(file).toLowerCase().replace('.', '');
  if (ext === 'csv' || ext === 'jsonl' || ext === 'json') return ext;
  if (ext === 'ndjson') return 'jsonl';
  throw new Error(`cannot tell the format of ${file} from its extension; pass --format csv|jsonl|json`);
}

export function readRows(file: string, format: CoreFormat): RawRow[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    throw describeFsError(err, 'records file', path.resolve(file));
  }
  const name = path.basename(file);
  if (format === 'jsonl') return readJsonl(text, name);
  if (format === 'json') return readJsonArray(text, name);
  return readCsv(text, name);
}

function readJsonl(text: string, name: string): RawRow[] {
  const out: RawRow[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const locator = `${name}:${i + 1}`;
    try {
      out.push({ locator, raw: line, row: JSON.parse(line) as unknown });
    } catch (err) {
      out.push({ locator, raw: line, error: `invalid JSON: ${(err as Error).message}` });
    }
  });
  return out;
}

function readJsonArray(text: string, name: string): RawRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // The whole file is unreadable: one quarantine entry holding the file head.
    return [{ locator: name, raw: text.slice(0, 2000), error: `invalid JSON: ${(err as Error).message}` }];
  }
  const items = Array.isArray(parsed) ? parsed : null;
  if (!items) return [{ locator: name, raw: text.slice(0, 2000), error: 'a .json core file must hold an array of records' }];
  return items.map((row, i) => ({ locator: `${name}#${i}`, raw: JSON.stringify(row), row }));
}

function readCsv(text: string, name: string): RawRow[] {
  // Parsed without column mapping so a row with the wrong number of cells is reported with its
  // line instead of failing the whole file.
  let records: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    records = parseCsv(text, { skip_empty_lines: true, relax_column_count: true, info: true, raw: true }) as unknown as typeof records;
  } catch (err) {
    return [{ locator: name, raw: text.slice(0, 2000), error: `unreadable CSV: ${(err as Error).message}` }];
  }
  if (records.length === 0) return [];
  const header = records[0].record.map((h) => h.trim());
  return records.slice(1).map(({ record, info, raw }) => {
    const locator = `${name}:${info.lines}`;
    if (record.length !== header.length)
      return { locator, raw: raw.trimEnd(), error: `expected ${header.length} columns, got ${record.length}` };
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = record[i]));
    return { locator, raw: raw.trimEnd(), row };
  });
}

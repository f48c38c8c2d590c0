import fs from 'node:fs/promises';
import path from 'node:path';
import { rejectDuplicateIds } from './duplicates.ts';
import { mapRecord, type MappingConfig } from './mapping.ts';
import type { SourceItem, SourceReader } from './types.ts';

/** Above this size a JSON array cannot be parsed whole (V8 string limit); JSONL streams instead. */
export const MAX_JSON_ARRAY_BYTES = 400 * 1024 * 1024;

/**
 * A file holding one JSON array of records. The array is parsed whole (JSON has no record
 * boundaries to stream on); a file that is not valid JSON or not an array fails as a whole.
 */
export class JsonArrayReader implements SourceReader {
  constructor(
    private readonly file: string,
    private readonly source: MappingConfig,
  ) {}

  read(): AsyncIterable<SourceItem> {
    return rejectDuplicateIds(this.elements());
  }

  private async *elements(): AsyncGenerator<SourceItem> {
    const label = path.basename(this.file);
    const where = `source "${this.source.name}" (${this.file})`;
    const { size } = await fs.stat(this.file);
    if (size > MAX_JSON_ARRAY_BYTES) {
      throw new Error(`${where}: ${size} bytes is too large to parse as one JSON array; convert it to JSON Lines (type: jsonl)`);
    }
    let text = await fs.readFile(this.file, 'utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`${where}: not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) {
      const got = parsed === null ? 'null' : typeof parsed === 'object' ? 'an object' : typeof parsed;
      throw new Error(`${where}: expected a JSON array of records at the top level, got ${got}`);
    }
    for (let i = 0; i < parsed.length; i++) {
      yield mapRecord(parsed[i], this.source, `${label}[${i}]`);
    }
  }
}

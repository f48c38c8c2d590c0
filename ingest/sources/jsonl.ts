import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { rejectDuplicateIds } from './duplicates.ts';
import { mapRecord, type MappingConfig } from './mapping.ts';
import type { SourceItem, SourceReader } from './types.ts';

/** JSON Lines: one JSON object per line, streamed line by line (files may be larger than memory). */
export class JsonlReader implements SourceReader {
  constructor(
    private readonly file: string,
    private readonly source: MappingConfig,
  ) {}

  read(): AsyncIterable<SourceItem> {
    return rejectDuplicateIds(this.lines());
  }

  private async *lines(): AsyncGenerator<SourceItem> {
    const label = path.basename(this.file);
    const input = fs.createReadStream(this.file, { encoding: 'utf8' });
    const rl = readline.createInterface({ input, crlfDelay: Infinity });
    let lineNo = 0;
    try {
      for await (let line of rl) {
        lineNo++;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        // Blank lines carry no record (editors add trailing ones); everything else is accounted for.
        if (line.trim() === '') continue;
        const locator = `${label}:${lineNo}`;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch (err) {
          yield { ok: false, locator, raw: line, reason: 'invalid_json', detail: (err as Error).message };
          continue;
        }
        yield mapRecord(parsed, this.source, locator, line);
      }
    } finally {
      rl.close();
      input.destroy();
    }
  }
}

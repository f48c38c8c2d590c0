import fs from 'node:fs';
import path from 'node:path';
import type { SourceConfig } from '../../src/config/index.ts';
import { sourcePath } from './index.ts';

// A quick estimate of how many records a source holds, for the progress bar's ETA only: JSONL and
// CSV count line breaks (multi-line CSV fields overcount a little), a folder counts its files.
// A JSON array would need a full parse: no estimate. Never throws: null means "unknown".

const CHUNK = 1 << 20;

function countNewlines(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let n = 0;
    let last = 0x0a;
    for (;;) {
      const read = fs.readSync(fd, buf, 0, CHUNK, null);
      if (read === 0) break;
      for (let i = buf.indexOf(0x0a, 0); i !== -1 && i < read; i = buf.indexOf(0x0a, i + 1)) n++;
      last = buf[read - 1];
    }
    return last === 0x0a ? n : n + 1; // a last line without a final newline still counts
  } finally {
    fs.closeSync(fd);
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) n += countFiles(path.join(dir, e.name));
    else if (e.isFile()) n++;
  }
  return n;
}

export function estimateRecords(source: SourceConfig, dataDir: string): number | null {
  try {
    const p = sourcePath(source, dataDir);
    if (source.type === 'jsonl') return countNewlines(p);
    if (source.type === 'csv') return Math.max(0, countNewlines(p) - 1);
    if (source.type === 'folder') return countFiles(p);
    return null;
  } catch {
    return null;
  }
}

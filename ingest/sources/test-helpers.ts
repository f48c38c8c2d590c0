// Shared by the reader tests only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sourceSchema, type SourceConfig } from '../../src/config/schema.ts';
import type { SourceItem, SourceReader } from './types.ts';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function sourceConfig(over: Record<string, unknown>): SourceConfig {
  return sourceSchema.parse({ name: 'test', type: 'jsonl', path: 'x', ...over });
}

export async function collect(reader: SourceReader): Promise<{ ok: Extract<SourceItem, { ok: true }>[]; bad: Extract<SourceItem, { ok: false }>[]; all: SourceItem[] }> {
  const all: SourceItem[] = [];
  for await (const item of reader.read()) all.push(item);
  return {
    all,
    ok: all.filter((i): i is Extract<SourceItem, { ok: true }> => i.ok),
    bad: all.filter((i): i is Extract<SourceItem, { ok: false }> => !i.ok),
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { world as demoWorld } from '../demo/world.ts';
import type { DB } from '../store/index.ts';
import { importCoreFile, type ImportReport } from './import.ts';
import type { CoreFormat } from './readers.ts';
import { findBrokenReferences, type BrokenReference } from './references.ts';
import { columnsOf, type CoreConfig } from './schema.ts';
import { loadEntities } from './store.ts';

// The demo world's core records: the same companies, people, products and events that the demo
// news and comments talk about (src/demo/world.ts), written as core-record files in all three
// import formats and imported through the ordinary import path — so `npm start` exercises
// exactly what an operator's `kb core import` does.

type WorldLike = Record<string, readonly object[]>;

/** Which world collection feeds which core type, and the file (format) it is written as. */
export const DEMO_CORE_FILES: readonly { type: string; collection: string; file: string; format: CoreFormat }[] = [
  { type: 'company', collection: 'companies', file: 'companies.jsonl', format: 'jsonl' },
  { type: 'person', collection: 'people', file: 'people.csv', format: 'csv' },
  { type: 'product', collection: 'products', file: 'products.jsonl', format: 'jsonl' },
  { type: 'exhibition', collection: 'exhibitions', file: 'exhibitions.json', format: 'json' },
  { type: 'conference', collection: 'conferences', file: 'conferences.jsonl', format: 'jsonl' },
  { type: 'report', collection: 'reports', file: 'reports.csv', format: 'csv' },
];

/** World objects projected onto the configured columns of each type (extra world fields dropped). */
export function demoCoreRecords(core: CoreConfig, world: WorldLike = demoWorld as unknown as WorldLike): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const spec of DEMO_CORE_FILES) {
    const t = core.types[spec.type];
    if (!t) continue;
    const cols = t.fields.flatMap(columnsOf);
    const items = (world[spec.collection] ?? []) as Record<string, unknown>[];
    out.set(
      spec.type,
      items.map((it) => Object.fromEntries(cols.filter((c) => it[c] !== undefined).map((c) => [c, it[c]]))),
    );
  }
  return out;
}

export interface DemoCoreFile {
  type: string;
  file: string;
  format: CoreFormat;
  records: number;
}

/** Writes <dir>/<file> per type; returns what was written. */
export function writeDemoCoreFiles(core: CoreConfig, dir: string, world?: WorldLike): DemoCoreFile[] {
  fs.mkdirSync(dir, { recursive: true });
  const records = demoCoreRecords(core, world);
  const written: DemoCoreFile[] = [];
  for (const spec of DEMO_CORE_FILES) {
    const rows = records.get(spec.type);
    if (!rows) continue;
    const cols = core.types[spec.type].fields.flatMap(columnsOf);
    const file = path.join(dir, spec.file);
    fs.writeFileSync(file, serialise(rows, cols, spec.format, core.list_separator));
    written.push({ type: spec.type, file, format: spec.format, records: rows.length });
  }
  return written;
}

function serialise(rows: Record<string, unknown>[], cols: string[], format: CoreFormat, sep: string): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === 'jsonl') return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const lines = [cols.map(csvCell).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(Array.isArray(r[c]) ? (r[c] as unknown[]).join(sep) : (r[c] ?? ''))).join(','));
  return lines.join('\n') + '\n';
}

function csvCell(v: unknown): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export interface DemoCoreResult {
  files: DemoCoreFile[];
  imports: ImportReport[];
  /** References still broken once every type is imported (should be none for the demo world). */
  broken_references: BrokenReference[];
}

/** Writes the demo core files under `dir` and imports them (replace mode: the demo is a full snapshot). */
export function generateDemoCore(db: DB, core: CoreConfig, dir: string, world?: WorldLike): DemoCoreResult {
  const files = writeDemoCoreFiles(core, dir, world);
  const imports = files.map((f) => importCoreFile(db, core, { file: f.file, type: f.type, format: f.format, mode: 'replace' }));
  return { files, imports, broken_references: findBrokenReferences(core, loadEntities(db, core)) };
}

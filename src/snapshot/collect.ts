import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../store/index.ts';

/** One index file (or folder of files) an active version references. */
export interface ReferencedFile {
  table: string;
  id: number;
  /** Path relative to the data folder, POSIX separators. */
  file: string;
  /** SHA-256 the versions table records for the file, when it has a sha256/checksum column. */
  sha256: string | null;
}

/**
 * Every file the active index versions reference, found generically: any table with an `active`
 * column and a `file` (or `path`) column is a versions table (today `index_versions` for HNSW; the
 * BM25 engine's per-version files join the same way), and its active rows name files (or folders)
 * relative to the data folder. A `sha256` (or `checksum`) column, when present, is checked against
 * the copied bytes at publish. So a new index kind needs no change here, only a table of that shape.
 */
export function referencedFiles(db: DB): ReferencedFile[] {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  const out: ReferencedFile[] = [];
  for (const table of tables) {
    const q = `"${table.replaceAll('"', '""')}"`;
    const cols = new Set((db.prepare(`PRAGMA table_info(${q})`).all() as Array<{ name: string }>).map((c) => c.name));
    const fileCol = cols.has('file') ? 'file' : cols.has('path') ? 'path' : null;
    if (!fileCol || !cols.has('active')) continue;
    const idCol = cols.has('id') ? 'id' : 'rowid';
    const shaCol = cols.has('sha256') ? 'sha256' : cols.has('checksum') ? 'checksum' : null;
    const rows = db
      .prepare(`SELECT ${idCol} AS id, ${fileCol} AS file, ${shaCol ?? 'NULL'} AS sha256 FROM ${q} WHERE active = 1 AND ${fileCol} IS NOT NULL ORDER BY ${idCol}`)
      .all() as Array<{ id: number; file: string; sha256: string | null }>;
    for (const r of rows) {
      const sha = typeof r.sha256 === 'string' ? r.sha256.toLowerCase().replace(/^sha256:/, '') : null;
      out.push({ table, id: r.id, file: r.file.split(path.sep).join('/'), sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : null });
    }
  }
  return out;
}

/**
 * Expands references into the concrete files to ship (a reference may name a folder), each
 * checked to lie inside the data folder: a manifest must never point a replica outside its own.
 */
export function filesToShip(dataDir: string, refs: ReferencedFile[]): string[] {
  const root = path.resolve(dataDir);
  const out = new Set<string>();
  const add = (rel: string) => {
    const abs = path.resolve(root, rel);
    if (abs !== root && !abs.startsWith(root + path.sep)) throw new Error(`index file ${rel} lies outside the data folder`);
    const st = fs.statSync(abs); // throws ENOENT: a referenced file that is gone is an error, not a smaller snapshot
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) add(path.posix.join(rel, name));
    } else if (st.isFile()) {
      out.add(path.relative(root, abs).split(path.sep).join('/'));
    }
  };
  for (const r of refs) add(r.file);
  return [...out].sort();
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../src/store/index.ts';

// The registry's record of exports (migration 015): what was written for which run, and its
// checksum, so an operator can verify the file a server loads is the one that was evaluated.

export type ExportFormat = 'merged' | 'gguf' | 'adapter-gguf';

export interface ExportRecord {
  id: number;
  runId: number;
  adapterId: number | null;
  format: ExportFormat;
  path: string;
  sha256: string;
  bytes: number;
  details: Record<string, unknown>;
  createdAt: string;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A file's sha256, or a folder's: sha256 over its files' "sha256  relative/path" lines, sorted. */
export async function checksum(target: string): Promise<{ sha256: string; bytes: number; files?: Record<string, string> }> {
  const st = fs.statSync(target);
  if (st.isFile()) return { sha256: await sha256File(target), bytes: st.size };
  const files: Record<string, string> = {};
  let bytes = 0;
  const walk = async (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        files[path.relative(target, p)] = await sha256File(p);
        bytes += fs.statSync(p).size;
      }
    }
  };
  await walk(target);
  const manifest = Object.keys(files).sort().map((k) => `${files[k]}  ${k}\n`).join('');
  return { sha256: createHash('sha256').update(manifest).digest('hex'), bytes, files };
}

interface Row {
  id: number;
  run_id: number;
  adapter_id: number | null;
  format: ExportFormat;
  path: string;
  sha256: string;
  bytes: number;
  details: string | null;
  created_at: string;
}

const toRecord = (r: Row): ExportRecord => ({
  id: r.id,
  runId: r.run_id,
  adapterId: r.adapter_id,
  format: r.format,
  path: r.path,
  sha256: r.sha256,
  bytes: r.bytes,
  details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : {},
  createdAt: r.created_at,
});

export function recordExport(db: DB, e: Omit<ExportRecord, 'id' | 'createdAt'>): ExportRecord {
  const info = db
    .prepare('INSERT INTO adapter_exports (run_id, adapter_id, format, path, sha256, bytes, details) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(e.runId, e.adapterId, e.format, e.path, e.sha256, e.bytes, JSON.stringify(e.details));
  return toRecord(db.prepare('SELECT * FROM adapter_exports WHERE id = ?').get(Number(info.lastInsertRowid)) as Row);
}

export function listExports(db: DB, runId?: number): ExportRecord[] {
  const rows = (runId == null ? db.prepare('SELECT * FROM adapter_exports ORDER BY id').all() : db.prepare('SELECT * FROM adapter_exports WHERE run_id = ? ORDER BY id').all(runId)) as Row[];
  return rows.map(toRecord);
}

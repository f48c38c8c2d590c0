import crypto from 'node:crypto';
import path from 'node:path';
import type { DB } from '../store/index.ts';
import { nowIso } from '../store/index.ts';
import { detectFormat, readRows, type CoreFormat } from './readers.ts';
import { findBrokenReferences, type BrokenReference } from './references.ts';
import { typeConfig, validateRow, type CoreConfig } from './schema.ts';
import { loadEntities } from './store.ts';

// `kb core import FILE --type T`: validates every row against the type's schema, upserts the good
// ones into core_entities, quarantines the bad ones with a reason (nothing is lost), and reports
// references that point at records which do not exist.

export interface ImportOptions {
  file: string;
  type: string;
  format?: CoreFormat;
  /** upsert (default): add/update; replace: also delete records of this type absent from the file. */
  mode?: 'upsert' | 'replace';
}

export interface ImportReport {
  run_id: number;
  type: string;
  file: string;
  format: CoreFormat;
  mode: 'upsert' | 'replace';
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  quarantined: number;
  quarantine_reasons: Record<string, number>;
  /** Columns present in the file but not in the type's schema (ignored, not stored). */
  unknown_columns: string[];
  broken_references: { count: number; items: BrokenReference[] };
}

const MAX_LISTED_REFERENCES = 50;

export function importCoreFile(db: DB, core: CoreConfig, opts: ImportOptions): ImportReport {
  const t = typeConfig(core, opts.type);
  const format = opts.format ?? detectFormat(opts.file);
  const mode = opts.mode ?? 'upsert';
  const rows = readRows(opts.file, format);
  const file = path.resolve(opts.file);

  const runId = Number(
    db.prepare('INSERT INTO core_imports (type, file, format, mode, started_at) VALUES (?, ?, ?, ?, ?)').run(opts.type, file, format, mode, nowIso())
      .lastInsertRowid,
  );
  const report: ImportReport = {
    run_id: runId,
    type: opts.type,
    file,
    format,
    mode,
    rows: rows.length,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    quarantined: 0,
    quarantine_reasons: {},
    unknown_columns: [],
    broken_references: { count: 0, items: [] },
  };
  const quarantine = db.prepare('INSERT INTO core_quarantine (import_run, type, locator, raw, reason, detail) VALUES (?, ?, ?, ?, ?, ?)');
  const existing = db.prepare('SELECT data_hash FROM core_entities WHERE type = ? AND key = ?').pluck();
  const upsert = db.prepare(
    `INSERT INTO core_entities (type, key, data, data_hash, updated_at, import_run) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (type, key) DO UPDATE SET data = excluded.data, data_hash = excluded.data_hash,
       updated_at = excluded.updated_at, import_run = excluded.import_run`,
  );
  const unknown = new Set<string>();
  const seen = new Set<string>();
  const reject = (locator: string, raw: string, reason: string, detail: string) => {
    quarantine.run(runId, opts.type, locator, raw, reason, detail);
    report.quarantined++;
    report.quarantine_reasons[reason] = (report.quarantine_reasons[reason] ?? 0) + 1;
  };

  db.transaction(() => {
    for (const r of rows) {
      if (r.error !== undefined) {
        reject(r.locator, r.raw, r.error.startsWith('invalid JSON') || r.error.startsWith('unreadable') ? 'invalid_json' : 'malformed_row', r.error);
        continue;
      }
      const v = validateRow(t, r.row, core.list_separator);
      if (!v.ok) {
        // A bad row whose key is readable still counts as "present" for replace mode: its old
        // version is kept rather than deleted.
        if (v.key) seen.add(v.key);
        reject(r.locator, r.raw, v.reason, v.detail);
        continue;
      }
      if (seen.has(v.key)) {
        reject(r.locator, r.raw, 'duplicate_key', `key "${v.key}" appears earlier in this file; the first row was kept`);
        continue;
      }
      seen.add(v.key);
      v.unknownColumns.forEach((c) => unknown.add(c));
      const json = JSON.stringify(v.data);
      const hash = crypto.createHash('sha256').update(json).digest('hex');
      const prev = existing.get(opts.type, v.key) as string | undefined;
      if (prev === hash) {
        report.unchanged++;
        continue;
      }
      upsert.run(opts.type, v.key, json, hash, nowIso(), runId);
      if (prev === undefined) report.inserted++;
      else report.updated++;
    }
    if (mode === 'replace') {
      const keys = db.prepare('SELECT key FROM core_entities WHERE type = ?').pluck().all(opts.type) as string[];
      const del = db.prepare('DELETE FROM core_entities WHERE type = ? AND key = ?');
      for (const k of keys) if (!seen.has(k)) report.deleted += del.run(opts.type, k).changes;
    }
  })();

  report.unknown_columns = [...unknown].sort();
  const broken = findBrokenReferences(core, loadEntities(db, core)).filter((b) => b.type === opts.type || b.targetType === opts.type);
  report.broken_references = { count: broken.length, items: broken.slice(0, MAX_LISTED_REFERENCES) };
  db.prepare('UPDATE core_imports SET finished_at = ?, report = ? WHERE id = ?').run(nowIso(), JSON.stringify(report), runId);
  return report;
}

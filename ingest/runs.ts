import type { DB } from '../src/store/index.ts';
import { nowIso } from '../src/store/index.ts';
import type { RunReport } from './report.ts';

// Ingestion run records: one row per run, with its report or its error.

export interface RunRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  status: 'running' | 'succeeded' | 'failed' | 'aborted';
  trigger: string;
  sources: string;
  report: string | null;
  error: string | null;
  pid: number | null;
}

/** A run row as the API shows it: `sources` and `report` parsed (an unparsable value stays text). */
export function runJson(r: RunRow) {
  const parse = (v: string | null): unknown => {
    if (v === null) return null;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  };
  return { ...r, sources: parse(r.sources), report: parse(r.report) };
}

export function startRun(db: DB, trigger: string, sources: string[]): number {
  const r = db
    .prepare('INSERT INTO ingest_runs (started_at, status, trigger, sources, pid) VALUES (?, ?, ?, ?, ?)')
    .run(nowIso(), 'running', trigger, JSON.stringify(sources), process.pid);
  return Number(r.lastInsertRowid);
}

export function finishRun(db: DB, id: number, report: RunReport): void {
  db.prepare('UPDATE ingest_runs SET finished_at = ?, status = ?, report = ?, error = ? WHERE id = ?').run(
    nowIso(),
    report.status,
    JSON.stringify(report),
    report.error ?? null,
    id,
  );
}

/**
 * Runs left in 'running' by a process that died (we hold the ingest lock, so no other run is
 * alive) are marked aborted; their partial work is consistent and the new run completes it.
 */
export function abortOrphanedRuns(db: DB): number {
  return db
    .prepare("UPDATE ingest_runs SET status = 'aborted', finished_at = ?, error = COALESCE(error, 'process ended before the run finished') WHERE status = 'running'")
    .run(nowIso()).changes;
}

export function listRuns(db: DB, limit = 20): RunRow[] {
  return db.prepare('SELECT * FROM ingest_runs ORDER BY id DESC LIMIT ?').all(limit) as RunRow[];
}

export function lastRun(db: DB): RunRow | undefined {
  return db.prepare('SELECT * FROM ingest_runs ORDER BY id DESC LIMIT 1').get() as RunRow | undefined;
}

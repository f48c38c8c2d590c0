import { createHash } from 'node:crypto';
import type { DB } from '../src/store/index.ts';

// Rejected records are kept whole with a reason, never silently dropped — and recorded once: a
// record rejected again unchanged (the weekly job re-reads the same export) updates its row's
// last run and count instead of growing the table every week.

export interface QuarantineRow {
  id: number;
  source: string;
  run_id: number | null;
  locator: string | null;
  raw: string;
  reason: string;
  detail: string | null;
  created_at: string;
  /** First run that rejected it (run_id) and the latest one; how many runs rejected it. */
  last_run_id: number | null;
  times_seen: number;
}

/** Raw records above this size are stored truncated (with a marker) to keep the store bounded. */
const MAX_RAW = 100_000;

export class Quarantine {
  private readonly insert;
  private readonly seenAgain;
  constructor(
    db: DB,
    private readonly source: string,
    private readonly runId: number | null,
  ) {
    this.insert = db.prepare(
      'INSERT INTO quarantine (source, run_id, last_run_id, locator, raw, reason, detail, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // The same run may meet a record twice (a duplicate line): count runs, not sightings.
    this.seenAgain = db.prepare(
      `UPDATE quarantine SET locator = ?, detail = ?, times_seen = times_seen + (coalesce(last_run_id, -1) IS NOT coalesce(?, -1)), last_run_id = ?
        WHERE id = (SELECT id FROM quarantine WHERE fingerprint = ? ORDER BY id DESC LIMIT 1)`,
    );
  }

  add(locator: string, raw: string, reason: string, detail: string): void {
    // Not the locator: a line that moves in next week's export is still the same record.
    const fingerprint = createHash('sha256').update(JSON.stringify([this.source, reason, raw])).digest('hex');
    if (this.seenAgain.run(locator, detail, this.runId, this.runId, fingerprint).changes > 0) return;
    const stored = raw.length > MAX_RAW ? `${raw.slice(0, MAX_RAW)}…[truncated ${raw.length - MAX_RAW} chars]` : raw;
    this.insert.run(this.source, this.runId, this.runId, locator, stored, reason, detail, fingerprint);
  }
}

export interface QuarantineQuery {
  runId?: number;
  source?: string;
  reason?: string;
  limit?: number;
}

/** WHERE clause of a query; `runId` matches records first or last rejected by that run. */
function whereOf(q: Omit<QuarantineQuery, 'limit'>): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.runId !== undefined) (where.push('(run_id = ? OR last_run_id = ?)'), params.push(q.runId, q.runId));
  if (q.source) (where.push('source = ?'), params.push(q.source));
  if (q.reason) (where.push('reason = ?'), params.push(q.reason));
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

export function listQuarantine(db: DB, q: QuarantineQuery = {}): QuarantineRow[] {
  const w = whereOf(q);
  return db.prepare(`SELECT * FROM quarantine ${w.sql} ORDER BY id DESC LIMIT ?`).all(...w.params, q.limit ?? 50) as QuarantineRow[];
}

/** Records by reason, under the same filters as listQuarantine. */
export function quarantineCounts(db: DB, q: Omit<QuarantineQuery, 'limit'> = {}): Record<string, number> {
  const w = whereOf(q);
  const rows = db.prepare(`SELECT reason, count(*) n FROM quarantine ${w.sql} GROUP BY reason ORDER BY reason`).all(...w.params) as { reason: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}

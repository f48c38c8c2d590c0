import type { DB } from '../src/store/index.ts';

// Rejected records are kept whole with a reason, never silently dropped.

export interface QuarantineRow {
  id: number;
  source: string;
  run_id: number | null;
  locator: string | null;
  raw: string;
  reason: string;
  detail: string | null;
  created_at: string;
}

/** Raw records above this size are stored truncated (with a marker) to keep the store bounded. */
const MAX_RAW = 100_000;

export class Quarantine {
  private readonly insert;
  constructor(
    db: DB,
    private readonly source: string,
    private readonly runId: number | null,
  ) {
    this.insert = db.prepare('INSERT INTO quarantine (source, run_id, locator, raw, reason, detail) VALUES (?, ?, ?, ?, ?, ?)');
  }

  add(locator: string, raw: string, reason: string, detail: string): void {
    const stored = raw.length > MAX_RAW ? `${raw.slice(0, MAX_RAW)}…[truncated ${raw.length - MAX_RAW} chars]` : raw;
    this.insert.run(this.source, this.runId, locator, stored, reason, detail);
  }
}

export interface QuarantineQuery {
  runId?: number;
  source?: string;
  reason?: string;
  limit?: number;
}

export function listQuarantine(db: DB, q: QuarantineQuery = {}): QuarantineRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.runId !== undefined) (where.push('run_id = ?'), params.push(q.runId));
  if (q.source) (where.push('source = ?'), params.push(q.source));
  if (q.reason) (where.push('reason = ?'), params.push(q.reason));
  const sql = `SELECT * FROM quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  return db.prepare(sql).all(...params, q.limit ?? 50) as QuarantineRow[];
}

export function quarantineCounts(db: DB, runId?: number): Record<string, number> {
  const rows = (
    runId === undefined
      ? db.prepare('SELECT reason, count(*) n FROM quarantine GROUP BY reason').all()
      : db.prepare('SELECT reason, count(*) n FROM quarantine WHERE run_id = ? GROUP BY reason').all(runId)
  ) as { reason: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}

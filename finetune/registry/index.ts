import { nowIso, type DB } from '../../src/store/index.ts';
import type { EvalReport } from '../eval/report-types.ts';
import { cachedStatement } from '../../src/store/statements.ts';

// The adapter registry (migration 004): versioned adapters and, per assistant, a deployment
// stack — deploy pushes, rollback pops. The chat server asks activeAdapter() which LoRA model
// name to send upstream.

export type AdapterStatus = 'candidate' | 'active' | 'retired';

export interface AdapterRecord {
  id: number;
  version: string;
  runId: number | null;
  path: string;
  baseModel: string;
  evalReport: EvalReport | null;
  status: AdapterStatus;
  createdAt: string;
  deployedAt: string | null;
}

export interface DeploymentRecord {
  id: number;
  assistant: string;
  action: 'deploy' | 'rollback';
  adapter: string | null;
  previous: string | null;
  forced: boolean;
  gate: unknown;
  note: string | null;
  rolledBackAt: string | null;
  at: string;
}

interface AdapterRow {
  id: number;
  version: string;
  run_id: number | null;
  path: string;
  base_model: string;
  eval_report: string | null;
  status: AdapterStatus;
  created_at: string;
  deployed_at: string | null;
}

const toAdapter = (r: AdapterRow): AdapterRecord => ({
  id: r.id,
  version: r.version,
  runId: r.run_id,
  path: r.path,
  baseModel: r.base_model,
  evalReport: r.eval_report ? (JSON.parse(r.eval_report) as EvalReport) : null,
  status: r.status,
  createdAt: r.created_at,
  deployedAt: r.deployed_at,
});

/** Half-year version name: company-2026h1 for January–June, company-2026h2 for July–December. */
export function versionFor(date: Date, prefix = 'company'): string {
  return `${prefix}-${date.getUTCFullYear()}h${date.getUTCMonth() < 6 ? 1 : 2}`;
}

export function registerAdapter(db: DB, a: { version: string; runId?: number | null; path: string; baseModel: string }): AdapterRecord {
  if (!/^[A-Za-z0-9_.-]+$/.test(a.version)) throw new Error(`adapter version "${a.version}": letters, digits, _ . - only`);
  const existing = getAdapter(db, a.version);
  if (existing) {
    if (existing.runId !== (a.runId ?? null) || existing.path !== a.path) throw new Error(`adapter version "${a.version}" is already registered for another run`);
    return existing;
  }
  db.prepare('INSERT INTO adapters (version, run_id, path, base_model) VALUES (?, ?, ?, ?)').run(a.version, a.runId ?? null, a.path, a.baseModel);
  return getAdapter(db, a.version)!;
}

export function getAdapter(db: DB, version: string): AdapterRecord | null {
  const row = db.prepare('SELECT * FROM adapters WHERE version = ?').get(version) as AdapterRow | undefined;
  return row ? toAdapter(row) : null;
}

export function requireAdapter(db: DB, version: string): AdapterRecord {
  const a = getAdapter(db, version);
  if (!a) throw new Error(`no adapter "${version}" in the registry (see \`kb finetune adapters\`)`);
  return a;
}

export function adapterForRun(db: DB, runId: number): AdapterRecord | null {
  const row = db.prepare('SELECT * FROM adapters WHERE run_id = ? ORDER BY id DESC LIMIT 1').get(runId) as AdapterRow | undefined;
  return row ? toAdapter(row) : null;
}

export function listAdapters(db: DB): AdapterRecord[] {
  return (db.prepare('SELECT * FROM adapters ORDER BY id DESC').all() as AdapterRow[]).map(toAdapter);
}

export function setEvalReport(db: DB, version: string, report: EvalReport): void {
  const r = db.prepare('UPDATE adapters SET eval_report = ? WHERE version = ?').run(JSON.stringify(report), version);
  if (r.changes === 0) throw new Error(`no adapter "${version}" in the registry`);
}

interface DeployRow {
  id: number;
  assistant: string;
  action: 'deploy' | 'rollback';
  adapter_id: number | null;
  previous_id: number | null;
  forced: number;
  gate: string | null;
  note: string | null;
  rolled_back_at: string | null;
  at: string;
}

/** The live deploy row of an assistant: its latest deploy that was not rolled back. */
function liveDeploy(db: DB, assistant: string, excludeId = -1): DeployRow | null {
  const sql = "SELECT * FROM adapter_deployments WHERE assistant = ? AND action = 'deploy' AND rolled_back_at IS NULL AND id != ? ORDER BY id DESC LIMIT 1";
  return (cachedStatement(db, sql).get(assistant, excludeId) as DeployRow | undefined) ?? null;
}

function adapterById(db: DB, id: number | null): AdapterRecord | null {
  if (id == null) return null;
  const row = cachedStatement(db, 'SELECT * FROM adapters WHERE id = ?').get(id) as AdapterRow | undefined;
  return row ? toAdapter(row) : null;
}

/**
 * The adapter the assistant should use now, or null for the base model (never deployed, or
 * rolled back past the first deployment). The chat server prefers this over the config value.
 */
export function activeAdapter(db: DB, assistant: string): AdapterRecord | null {
  return adapterById(db, liveDeploy(db, assistant)?.adapter_id ?? null);
}

/** Keeps adapters.status in step with the deployment stacks of all assistants. */
function refreshStatus(db: DB, adapterId: number | null): void {
  if (adapterId == null) return;
  const live = db
    .prepare(
      `SELECT COUNT(*) FROM adapter_deployments d WHERE d.adapter_id = ? AND d.action = 'deploy' AND d.rolled_back_at IS NULL
         AND d.id = (SELECT MAX(id) FROM adapter_deployments e WHERE e.assistant = d.assistant AND e.action = 'deploy' AND e.rolled_back_at IS NULL)`,
    )
    .pluck()
    .get(adapterId) as number;
  const everDeployed = db.prepare('SELECT deployed_at FROM adapters WHERE id = ?').pluck().get(adapterId) != null;
  db.prepare('UPDATE adapters SET status = ? WHERE id = ?').run(live > 0 ? 'active' : everDeployed ? 'retired' : 'candidate', adapterId);
}

/** Points the assistant at the adapter (a transaction: history row + statuses). */
export function recordDeployment(
  db: DB,
  d: { assistant: string; version: string; forced?: boolean; gate?: unknown; note?: string },
): DeploymentRecord {
  return db.transaction(() => {
    const adapter = requireAdapter(db, d.version);
    const previous = activeAdapter(db, d.assistant);
    const info = db
      .prepare('INSERT INTO adapter_deployments (assistant, action, adapter_id, previous_id, forced, gate, note) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(d.assistant, 'deploy', adapter.id, previous?.id ?? null, d.forced ? 1 : 0, d.gate === undefined ? null : JSON.stringify(d.gate), d.note ?? null);
    db.prepare('UPDATE adapters SET deployed_at = ? WHERE id = ?').run(nowIso(), adapter.id);
    refreshStatus(db, adapter.id);
    refreshStatus(db, previous?.id ?? null);
    return getDeployment(db, Number(info.lastInsertRowid));
  })();
}

export interface RollbackResult {
  from: AdapterRecord;
  /** null = back to the base model (no adapter). */
  to: AdapterRecord | null;
}

/** Returns the assistant to the adapter that served before the current one. */
export function rollbackAdapter(db: DB, assistant: string, note?: string): RollbackResult {
  return db.transaction(() => {
    const live = liveDeploy(db, assistant);
    if (!live || live.adapter_id == null) throw new Error(`assistant "${assistant}" has no deployed adapter to roll back`);
    const from = adapterById(db, live.adapter_id)!;
    db.prepare('UPDATE adapter_deployments SET rolled_back_at = ? WHERE id = ?').run(nowIso(), live.id);
    const to = adapterById(db, liveDeploy(db, assistant)?.adapter_id ?? null);
    db.prepare('INSERT INTO adapter_deployments (assistant, action, adapter_id, previous_id, note) VALUES (?, ?, ?, ?, ?)').run(
      assistant,
      'rollback',
      to?.id ?? null,
      from.id,
      note ?? null,
    );
    refreshStatus(db, from.id);
    refreshStatus(db, to?.id ?? null);
    return { from: adapterById(db, from.id)!, to: to ? adapterById(db, to.id) : null };
  })();
}

function getDeployment(db: DB, id: number): DeploymentRecord {
  const r = db
    .prepare(
      `SELECT d.*, a.version AS adapter, p.version AS previous FROM adapter_deployments d
         LEFT JOIN adapters a ON a.id = d.adapter_id LEFT JOIN adapters p ON p.id = d.previous_id WHERE d.id = ?`,
    )
    .get(id) as DeployRow & { adapter: string | null; previous: string | null };
  return toDeployment(r);
}

function toDeployment(r: DeployRow & { adapter: string | null; previous: string | null }): DeploymentRecord {
  return {
    id: r.id,
    assistant: r.assistant,
    action: r.action,
    adapter: r.adapter,
    previous: r.previous,
    forced: r.forced === 1,
    gate: r.gate ? JSON.parse(r.gate) : null,
    note: r.note,
    rolledBackAt: r.rolled_back_at,
    at: r.at,
  };
}

export function deploymentHistory(db: DB, assistant?: string, limit = 50): DeploymentRecord[] {
  const rows = db
    .prepare(
      `SELECT d.*, a.version AS adapter, p.version AS previous FROM adapter_deployments d
         LEFT JOIN adapters a ON a.id = d.adapter_id LEFT JOIN adapters p ON p.id = d.previous_id
         WHERE (? IS NULL OR d.assistant = ?) ORDER BY d.id DESC LIMIT ?`,
    )
    .all(assistant ?? null, assistant ?? null, limit) as (DeployRow & { adapter: string | null; previous: string | null })[];
  return rows.map(toDeployment);
}

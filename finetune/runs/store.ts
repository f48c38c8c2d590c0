import { nowIso, type DB } from '../../src/store/index.ts';
import { parseRunConfig, type RunConfig } from '../train/run-config.ts';
import type { ReproRecord } from './repro.ts';
import { processAlive } from '../../src/util/process.ts';

// The finetune_runs table (migration 004): one row per training run.

export type RunStatus = 'created' | 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface RunRecord {
  id: number;
  name: string;
  status: RunStatus;
  config: RunConfig;
  path: string;
  adapterPath: string | null;
  mergedPath: string | null;
  datasetHash: string | null;
  progress: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
  errorTail: string | null;
  pid: number | null;
  attempts: number;
  trigger: string;
  /** Reproducibility record (migration 015); null for runs created before it. */
  repro: ReproRecord | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

interface Row {
  id: number;
  name: string;
  status: RunStatus;
  config: string;
  path: string;
  adapter_path: string | null;
  merged_path: string | null;
  dataset_hash: string | null;
  progress: string | null;
  metrics: string | null;
  error_tail: string | null;
  pid: number | null;
  attempts: number;
  trigger: string;
  repro: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

const json = (s: string | null) => (s == null ? null : (JSON.parse(s) as Record<string, unknown>));

function toRecord(r: Row): RunRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    config: parseRunConfig(JSON.parse(r.config)),
    path: r.path,
    adapterPath: r.adapter_path,
    mergedPath: r.merged_path,
    datasetHash: r.dataset_hash,
    progress: json(r.progress),
    metrics: json(r.metrics),
    errorTail: r.error_tail,
    pid: r.pid,
    attempts: r.attempts,
    trigger: r.trigger,
    repro: r.repro == null ? null : (JSON.parse(r.repro) as ReproRecord),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

export function insertRun(db: DB, run: { name: string; config: RunConfig; path: string; trigger?: string; repro?: ReproRecord }): RunRecord {
  const info = db
    .prepare('INSERT INTO finetune_runs (name, status, config, path, trigger, repro) VALUES (?, ?, ?, ?, ?, ?)')
    .run(run.name, 'created', JSON.stringify(run.config), run.path, run.trigger ?? 'cli', run.repro ? JSON.stringify(run.repro) : null);
  return getRun(db, Number(info.lastInsertRowid))!;
}

/** By numeric id or by name. */
export function getRun(db: DB, ref: number | string): RunRecord | null {
  const row = (
    typeof ref === 'number' || /^\d+$/.test(ref)
      ? db.prepare('SELECT * FROM finetune_runs WHERE id = ? OR name = ?').get(Number(ref), String(ref))
      : db.prepare('SELECT * FROM finetune_runs WHERE name = ?').get(ref)
  ) as Row | undefined;
  return row ? toRecord(row) : null;
}

export function requireRun(db: DB, ref: number | string): RunRecord {
  const run = getRun(db, ref);
  if (!run) throw new Error(`no fine-tune run "${ref}" (see \`kb finetune runs\`)`);
  return run;
}

export function listRuns(db: DB, limit = 50): RunRecord[] {
  return (db.prepare('SELECT * FROM finetune_runs ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map(toRecord);
}

export interface RunPatch {
  status?: RunStatus;
  adapterPath?: string | null;
  mergedPath?: string | null;
  datasetHash?: string | null;
  progress?: Record<string, unknown> | null;
  metrics?: Record<string, unknown> | null;
  errorTail?: string | null;
  pid?: number | null;
  attempts?: number;
  finishedAt?: string | null;
  repro?: ReproRecord | null;
}

const COLUMNS: Record<keyof RunPatch, string> = {
  status: 'status',
  adapterPath: 'adapter_path',
  mergedPath: 'merged_path',
  datasetHash: 'dataset_hash',
  progress: 'progress',
  metrics: 'metrics',
  errorTail: 'error_tail',
  pid: 'pid',
  attempts: 'attempts',
  finishedAt: 'finished_at',
  repro: 'repro',
};

export function updateRun(db: DB, id: number, patch: RunPatch): void {
  const sets: string[] = ['updated_at = ?'];
  const values: unknown[] = [nowIso()];
  for (const [key, column] of Object.entries(COLUMNS) as [keyof RunPatch, string][]) {
    if (!(key in patch)) continue;
    const v = patch[key];
    sets.push(`${column} = ?`);
    values.push(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
  }
  db.prepare(`UPDATE finetune_runs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
}


/**
 * Runs left 'running' by an orchestrator that died (machine reboot, kill -9) become
 * 'interrupted', so they can be resumed. Returns how many were fixed.
 */
export function reconcileStaleRuns(db: DB, isAlive: (pid: number) => boolean = processAlive): number {
  const stale = (db.prepare("SELECT id, pid FROM finetune_runs WHERE status = 'running'").all() as { id: number; pid: number | null }[]).filter(
    (r) => r.pid == null || !isAlive(r.pid),
  );
  for (const r of stale) {
    updateRun(db, r.id, { status: 'interrupted', pid: null, errorTail: 'the orchestrator stopped while the trainer was running (found no live trainer process)' });
  }
  return stale.length;
}

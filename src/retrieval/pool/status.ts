import type { DenseIndexStatus } from '../../vector/reader.ts';

// The pool's dense-index status for /readyz and /v1/admin/index, merged from what each worker
// last reported. Ready (`loaded`) only when every live worker serves a version: a request may
// land on any of them.

export interface WorkerIndexStatus {
  slot: number;
  ready: boolean;
  version: number | null;
  loading: boolean;
  error: DenseIndexStatus['error'];
}

export interface PoolIndexStatus extends Omit<DenseIndexStatus, 'version'> {
  loaded: boolean;
  /** False while no worker can take a request (all crashed and restarting): not ready. */
  available: boolean;
  /** The version every worker serves; while a new version rolls out, the oldest one still served. */
  version: number | null;
  /** Distinct versions served right now (two while workers swap at their own pace). */
  versions: number[];
  workers: WorkerIndexStatus[];
  [key: string]: unknown;
}

export function mergeIndexStatus(slots: Array<{ slot: number; ready: boolean; status: DenseIndexStatus | null }>): PoolIndexStatus {
  const live = slots.filter((s) => s.ready && s.status);
  const statuses = live.map((s) => s.status!);
  const versions = [...new Set(statuses.map((s) => s.version).filter((v): v is number => v !== null))].sort((a, b) => a - b);
  const oldest = statuses.find((s) => s.version === versions[0]) ?? statuses[0] ?? null;
  const loaded = live.length > 0 && live.length === slots.length && statuses.every((s) => s.version !== null);
  // A worker that is restarting still tells which version is active (its last report).
  const known = slots.map((s) => s.status).filter((s): s is DenseIndexStatus => s !== null);
  return {
    loaded,
    available: live.length > 0,
    version: versions[0] ?? null,
    versions,
    model: oldest?.model ?? null,
    dim: oldest?.dim ?? null,
    vectors: oldest?.vectors ?? 0,
    loadedAt: oldest?.loadedAt ?? null,
    activeVersion: known.find((s) => s.activeVersion !== null)?.activeVersion ?? null,
    loading: statuses.some((s) => s.loading),
    error: statuses.find((s) => s.error)?.error ?? null,
    // Any worker serving an older version because the active file failed verification.
    fallback: statuses.find((s) => s.fallback)?.fallback ?? null,
    verified: oldest?.verified ?? null,
    workers: slots.map((s) => ({
      slot: s.slot,
      ready: s.ready,
      version: s.status?.version ?? null,
      loading: s.status?.loading ?? false,
      error: s.status?.error ?? null,
    })),
  };
}

import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../store/index.ts';
import { activeVersion, listVersions, type IndexVersion } from './versions.ts';
import { verifyVersion, type VersionCheck } from './verify.ts';

// The dense index's health as tools see it (`kb status`, `kb index verify`): every file checked
// the way the server's reader checks it, and the version a server starting now would serve
// (the same fallback rule as DenseIndexReader: the newest older version of the active model
// and dimension whose file verifies, else none — BM25 only).

export type IndexState = 'ok' | 'no_index' | 'fallback' | 'bm25_only';

export interface IndexHealth {
  state: IndexState;
  active: { version: number; file: string; ok: boolean; problem: string | null; checksum: VersionCheck['checksum'] } | null;
  /** The version a server would serve now (null: none, the dense leg is off). */
  serving: number | null;
  /** One line for an operator: what is wrong and how to recover (null when ok). */
  detail: string | null;
  /** Every version checked (only when asked for: each check reads a whole file). */
  versions?: VersionCheck[];
}

export const REBUILD_HINT = 'run `kb index rebuild` (rebuilds the dense index from the embedding cache into a new version; works while the active file is corrupt)';

export function indexHealth(db: DB, dataDir: string, opts: { all?: boolean } = {}): IndexHealth {
  const active = activeVersion(db);
  if (!active) return { state: 'no_index', active: null, serving: null, detail: null, ...(opts.all ? { versions: [] } : {}) };
  const checks = new Map<number, VersionCheck>();
  const check = (v: IndexVersion): VersionCheck => {
    let c = checks.get(v.id);
    if (!c) checks.set(v.id, (c = verifyVersion(dataDir, v)));
    return c;
  };
  const a = check(active);
  const summary = { version: active.id, file: active.file, ok: a.ok, problem: a.problem, checksum: a.checksum };
  const all = listVersions(db);
  let result: IndexHealth;
  if (a.ok) {
    result = { state: 'ok', active: summary, serving: active.id, detail: null };
  } else {
    const older = all.filter((v) => v.model_id === active.model_id && v.dim === active.dim && v.id < active.id).sort((x, y) => y.id - x.id);
    const fallback = older.find((v) => check(v).ok) ?? null;
    result = fallback
      ? {
          state: 'fallback',
          active: summary,
          serving: fallback.id,
          detail: `active index version ${active.id} is unusable (${a.problem}); servers serve version ${fallback.id} instead (chunks indexed since are found by BM25 only): ${REBUILD_HINT}`,
        }
      : {
          state: 'bm25_only',
          active: summary,
          serving: null,
          detail: `active index version ${active.id} is unusable (${a.problem}) and no older version verifies: retrieval runs on BM25 only: ${REBUILD_HINT}`,
        };
  }
  if (opts.all) result.versions = all.map(check);
  return result;
}

/**
 * Drops inactive versions whose files fail verification: they can never be served or fall back
 * to. The file is kept as `<file>.corrupt` for inspection (the row goes). Returns what it dropped.
 */
export function discardUnusableVersions(db: DB, dataDir: string): Array<{ version: number; file: string; problem: string }> {
  const dropped: Array<{ version: number; file: string; problem: string }> = [];
  for (const v of listVersions(db)) {
    if (v.active) continue;
    const c = verifyVersion(dataDir, v);
    if (c.ok) continue;
    db.prepare('DELETE FROM index_versions WHERE id = ? AND active = 0').run(v.id);
    const abs = path.join(dataDir, v.file);
    if (fs.existsSync(abs)) fs.renameSync(abs, `${abs}.corrupt`);
    dropped.push({ version: v.id, file: v.file, problem: c.problem ?? 'unusable' });
  }
  return dropped;
}

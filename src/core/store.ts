import type { DB } from '../store/index.ts';
import type { CoreConfig, CoreData, CoreRecord } from './schema.ts';

// Reading core records back from SQLite (core_entities), grouped by type in key order.

export type CoreEntities = Map<string, CoreRecord[]>;

export function loadEntities(db: DB, core: CoreConfig): CoreEntities {
  const out: CoreEntities = new Map(Object.keys(core.types).map((t) => [t, [] as CoreRecord[]]));
  const rows = db.prepare('SELECT type, key, data FROM core_entities ORDER BY type, key').all() as { type: string; key: string; data: string }[];
  for (const r of rows) {
    // Records of a type no longer in config stay stored but are not used.
    out.get(r.type)?.push({ type: r.type, key: r.key, data: JSON.parse(r.data) as CoreData });
  }
  return out;
}

export function countEntities(db: DB): Record<string, number> {
  const rows = db.prepare('SELECT type, COUNT(*) AS n FROM core_entities GROUP BY type ORDER BY type').all() as { type: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.type, r.n]));
}

export function countQuarantine(db: DB): Record<string, number> {
  const rows = db.prepare('SELECT reason, COUNT(*) AS n FROM core_quarantine GROUP BY reason ORDER BY reason').all() as { reason: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}

export function totalEntities(entities: CoreEntities): number {
  let n = 0;
  for (const list of entities.values()) n += list.length;
  return n;
}

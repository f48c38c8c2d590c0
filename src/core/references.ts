import type { CoreConfig, CoreValue } from './schema.ts';
import type { CoreEntities } from './store.ts';

// Reference integrity: a relation field naming a record that does not exist. Such references
// are reported (never silently used or dropped) and left out of the training set.

export interface BrokenReference {
  relation: string;
  type: string;
  key: string;
  field: string;
  /** The missing target key. */
  target: string;
  targetType: string;
}

export function targetKeys(v: CoreValue | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [String(v)];
}

export function findBrokenReferences(core: CoreConfig, entities: CoreEntities): BrokenReference[] {
  const keys = new Map<string, Set<string>>();
  for (const [type, list] of entities) keys.set(type, new Set(list.map((r) => r.key)));
  const out: BrokenReference[] = [];
  for (const rel of core.relations) {
    const targets = keys.get(rel.to) ?? new Set<string>();
    for (const rec of entities.get(rel.from) ?? []) {
      for (const target of targetKeys(rec.data[rel.field])) {
        if (!targets.has(target)) out.push({ relation: rel.name, type: rel.from, key: rec.key, field: rel.field, target, targetType: rel.to });
      }
    }
  }
  return out;
}

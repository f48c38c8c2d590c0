import type { CoreConfig } from '../../src/config/sections/core.ts';
import type { FinetuneConfig } from '../../src/config/sections/finetune.ts';
import { allNames, columnsOf, displayName, type CoreField, type CoreRecord, type CoreTypeConfig, type Lang } from '../../src/core/schema.ts';
import type { CoreEntities } from '../../src/core/store.ts';

// What every sampler needs: the schema, the templates, the records indexed by key and by name,
// the PII rule, and a place to put warnings.

export interface BuildContext {
  core: CoreConfig;
  ft: FinetuneConfig;
  seed: number;
  langs: Lang[];
  entities: CoreEntities;
  byKey: Map<string, Map<string, CoreRecord>>;
  /** Lower-cased names per type (all languages): invented refusal names must avoid them. */
  namesByType: Map<string, Set<string>>;
  /** (type, lang) → names carried by more than one record: questions about them would be ambiguous. */
  ambiguous: Map<string, Set<string>>;
  warnings: string[];
}

export function buildContext(core: CoreConfig, ft: FinetuneConfig, entities: CoreEntities, seed: number): BuildContext {
  const byKey = new Map<string, Map<string, CoreRecord>>();
  const namesByType = new Map<string, Set<string>>();
  const ambiguous = new Map<string, Set<string>>();
  for (const [type, list] of entities) {
    const t = core.types[type];
    byKey.set(type, new Map(list.map((r) => [r.key, r])));
    namesByType.set(type, new Set(list.flatMap((r) => allNames(t, r.data).map((n) => n.toLowerCase()))));
    for (const lang of ft.languages) {
      const seen = new Map<string, number>();
      for (const r of list) {
        const n = displayName(t, r.data, lang);
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      ambiguous.set(`${type}:${lang}`, new Set([...seen].filter(([, c]) => c > 1).map(([n]) => n)));
    }
  }
  return { core, ft, seed, langs: ft.languages, entities, byKey, namesByType, ambiguous, warnings: [] };
}

/** Whether a field may appear in training text: not PII, or PII the operator opted in. */
export function textAllowed(ctx: BuildContext, type: string, field: CoreField): boolean {
  return !field.pii || ctx.ft.pii_opt_in.includes(`${type}.${field.name}`);
}

/** Languages in which a record can be the subject of a question (it has a name, and the name is unique). */
export function askableLangs(ctx: BuildContext, t: CoreTypeConfig, type: string, rec: CoreRecord): Lang[] {
  return ctx.langs.filter((lang) => {
    const n = displayName(t, rec.data, lang);
    return n !== '' && !ctx.ambiguous.get(`${type}:${lang}`)?.has(n);
  });
}

/** The column a localized field's value comes from in one language (falls back to the other language). */
export function columnFor(field: CoreField, rec: CoreRecord, lang: Lang): string | undefined {
  const cols = columnsOf(field);
  if (!field.localized) return rec.data[cols[0]] !== undefined ? cols[0] : undefined;
  const own = `${field.name}_${lang}`;
  const other = cols.find((c) => c !== own)!;
  return rec.data[own] !== undefined ? own : rec.data[other] !== undefined ? other : undefined;
}

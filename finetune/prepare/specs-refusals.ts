import { displayName, relationFields, type CoreField, type CoreRecord, type Lang } from '../../src/core/schema.ts';
import { askableLangs, textAllowed, type BuildContext } from './context.ts';
import type { FactSpec } from './expand.ts';
import { choose, fieldLabel, phrases, unitHash } from './templates.ts';

// Refusal specs, so the model learns to say it has no record instead of inventing one:
// - unknown_entity:   a plausible name spliced from two real names, verified to match no record;
// - absent_attribute: an attribute the records never hold (config), asked about a real record.
// (Missing-field refusals come from specs-records.ts: they need the record's own fields.)

/** Fields a refusal may ask about: asked fields that are not ids, names, relations or PII. */
function askableFields(ctx: BuildContext, type: string): CoreField[] {
  const t = ctx.core.types[type];
  const rel = relationFields(ctx.core, type);
  return t.fields.filter((f) => f.ask && f.name !== t.key && f.name !== t.display_name && !rel.has(f.name) && textAllowed(ctx, type, f));
}

/** Splices the head of one name onto the tail of another (word-wise for spaced names, by character otherwise). */
export function spliceName(a: string, b: string): string {
  const wa = a.split(/\s+/);
  const wb = b.split(/\s+/);
  if (wa.length > 1 && wb.length > 1) return [...wa.slice(0, Math.ceil(wa.length / 2)), ...wb.slice(Math.ceil(wb.length / 2))].join(' ');
  const ca = Array.from(a);
  const cb = Array.from(b);
  return ca.slice(0, Math.ceil(ca.length / 2)).join('') + cb.slice(Math.ceil(cb.length / 2)).join('');
}

function isInvented(ctx: BuildContext, name: string): boolean {
  const n = name.toLowerCase().trim();
  if (n.length < 2) return false;
  for (const names of ctx.namesByType.values()) {
    for (const existing of names) if (existing === n || existing.includes(n) || n.includes(existing)) return false;
  }
  return true;
}

function inventNames(ctx: BuildContext, type: string, records: CoreRecord[], lang: Lang, count: number): string[] {
  const t = ctx.core.types[type];
  const names = [...new Set(records.map((r) => displayName(t, r.data, lang)).filter(Boolean))];
  const out: string[] = [];
  if (names.length < 2) return out;
  for (let attempt = 0; attempt < count * 30 && out.length < count; attempt++) {
    const a = names[Math.floor(unitHash(ctx.seed, `invent-a|${type}|${lang}|${attempt}`) * names.length)];
    const b = names[Math.floor(unitHash(ctx.seed, `invent-b|${type}|${lang}|${attempt}`) * names.length)];
    if (a === b) continue;
    const n = spliceName(a, b);
    if (!out.includes(n) && isInvented(ctx, n)) out.push(n);
  }
  return out;
}

export function unknownEntitySpecs(ctx: BuildContext): FactSpec[] {
  const out: FactSpec[] = [];
  const n = ctx.ft.refusal.unknown_entities_per_type;
  for (const [type, t] of Object.entries(ctx.core.types)) {
    const records = ctx.entities.get(type) ?? [];
    const fields = askableFields(ctx, type);
    if (n === 0 || fields.length === 0) continue;
    const invented = Object.fromEntries(ctx.langs.map((l) => [l, inventNames(ctx, type, records, l, n)])) as Record<Lang, string[]>;
    for (let i = 0; i < n; i++) {
      const langs = ctx.langs.filter((l) => invented[l][i] !== undefined);
      if (langs.length === 0) break;
      const id = `unknown|${type}|${i}`;
      const f = choose(fields.map((x) => ({ ...x, id: x.name })), 1, ctx.seed, id)[0];
      const override = ctx.ft.templates.fields[`${type}.${f.name}`];
      const qa = override ?? ctx.ft.templates.field;
      const prefix = override ? `fields.${type}.${f.name}` : 'field';
      const spec: FactSpec = {
        id,
        kind: 'refusal',
        subkind: 'unknown_entity',
        type,
        key: null,
        langs,
        name: {},
        questions: { en: phrases(qa.question.en, `${prefix}.en`), zh: phrases(qa.question.zh, `${prefix}.zh`) },
        answer: ctx.ft.templates.refusal.unknown_entity,
        vars: {},
        facts: {},
        answerValues: {},
      };
      for (const lang of langs) {
        const name = invented[lang][i];
        spec.name[lang] = name;
        spec.vars[lang] = { entity: name, type: t.label[lang], field: fieldLabel(f, lang) };
        spec.facts[lang] = [{ kind: 'absent', type, key: null, field: f.name, name }];
      }
      out.push(spec);
    }
  }
  return out;
}

export function absentAttributeSpecs(ctx: BuildContext): FactSpec[] {
  const out: FactSpec[] = [];
  const qa = ctx.ft.templates.field;
  for (const attr of ctx.ft.refusal.absent_attributes) {
    for (const type of attr.types) {
      const t = ctx.core.types[type];
      if (!t) {
        ctx.warnings.push(`refusal.absent_attributes: unknown type "${type}" (skipped)`);
        continue;
      }
      const records = (ctx.entities.get(type) ?? []).map((r) => ({ ...r, id: r.key }));
      for (const rec of choose(records, ctx.ft.refusal.unknown_entities_per_type, ctx.seed, `absent|${type}|${attr.label.en}`)) {
        const langs = askableLangs(ctx, t, type, rec);
        if (langs.length === 0) continue;
        const spec: FactSpec = {
          id: `absent|${type}|${rec.key}|${attr.label.en}`,
          kind: 'refusal',
          subkind: 'absent_attribute',
          type,
          key: rec.key,
          langs,
          name: {},
          questions: { en: phrases(qa.question.en, 'field.en'), zh: phrases(qa.question.zh, 'field.zh') },
          answer: ctx.ft.templates.refusal.absent_attribute,
          vars: {},
          facts: {},
          answerValues: {},
        };
        for (const lang of langs) {
          const entity = displayName(t, rec.data, lang);
          spec.name[lang] = entity;
          spec.vars[lang] = { entity, type: t.label[lang], field: attr.label[lang] };
          spec.facts[lang] = [{ kind: 'absent', type, key: rec.key, field: attr.label.en, attribute: true }];
        }
        out.push(spec);
      }
    }
  }
  return out;
}

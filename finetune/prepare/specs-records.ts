import { displayName, relationFields, valueIn, type Lang } from '../../src/core/schema.ts';
import { askableLangs, columnFor, textAllowed, type BuildContext } from './context.ts';
import type { FactSpec } from './expand.ts';
import { fieldLabel, phrases, renderValue, valueParts } from './templates.ts';
import type { GroundFact } from './types.ts';

// Single-fact specs (one field of one record) and composite specs (several fields in one answer,
// e.g. when and where an event is). A field a record leaves empty becomes a missing-field refusal.

export function recordSpecs(ctx: BuildContext): FactSpec[] {
  const out: FactSpec[] = [];
  const { core, ft } = ctx;
  for (const [type, t] of Object.entries(core.types)) {
    const relFields = relationFields(core, type);
    const typeLabel = t.label;
    for (const rec of ctx.entities.get(type) ?? []) {
      const langs = askableLangs(ctx, t, type, rec);
      if (langs.length === 0) continue;
      const name = Object.fromEntries(langs.map((l) => [l, displayName(t, rec.data, l)])) as Record<Lang, string>;
      for (const f of t.fields) {
        if (f.name === t.key || f.name === t.display_name || relFields.has(f.name) || !f.ask || !textAllowed(ctx, type, f)) continue;
        const override = ft.templates.fields[`${type}.${f.name}`];
        const qa = override ?? ft.templates.field;
        const prefix = override ? `fields.${type}.${f.name}` : 'field';
        const questions = { en: phrases(qa.question.en, `${prefix}.en`), zh: phrases(qa.question.zh, `${prefix}.zh`) };
        const present = langs.some((l) => valueIn(f, rec.data, l) !== undefined);
        const vars: FactSpec['vars'] = {};
        const facts: FactSpec['facts'] = {};
        const answerValues: FactSpec['answerValues'] = {};
        for (const lang of langs) {
          const base = { entity: name[lang], field: fieldLabel(f, lang), type: typeLabel[lang] };
          if (!present) {
            vars[lang] = base;
            facts[lang] = [{ kind: 'absent', type, key: rec.key, field: f.name }];
            continue;
          }
          const column = columnFor(f, rec, lang)!;
          const value = rec.data[column];
          vars[lang] = { ...base, value: renderValue(value, lang) };
          facts[lang] = [{ kind: 'value', type, key: rec.key, field: column, value }];
          answerValues[lang] = valueParts(value);
        }
        if (!present && !ft.refusal.missing_fields) continue;
        out.push({
          id: `${present ? 'field' : 'missing'}|${type}|${rec.key}|${f.name}`,
          kind: present ? 'single_fact' : 'refusal',
          subkind: present ? null : 'missing_field',
          type,
          key: rec.key,
          langs,
          name,
          questions,
          answer: present ? qa.answer : ft.templates.refusal.missing_field,
          vars,
          facts,
          answerValues,
        });
      }
    }
  }
  return out;
}

export function compositeSpecs(ctx: BuildContext): FactSpec[] {
  const out: FactSpec[] = [];
  for (const comp of ctx.ft.templates.composites) {
    const t = ctx.core.types[comp.type];
    if (!t) {
      ctx.warnings.push(`composite ${comp.name}: unknown type "${comp.type}" (skipped)`);
      continue;
    }
    const fields = comp.fields.map((n) => t.fields.find((f) => f.name === n));
    if (fields.some((f) => !f)) {
      ctx.warnings.push(`composite ${comp.name}: a field of [${comp.fields.join(', ')}] is not in ${comp.type} (skipped)`);
      continue;
    }
    if (fields.some((f) => !textAllowed(ctx, comp.type, f!))) continue;
    for (const rec of ctx.entities.get(comp.type) ?? []) {
      const langs = askableLangs(ctx, t, comp.type, rec).filter((l) => fields.every((f) => valueIn(f!, rec.data, l) !== undefined));
      if (langs.length === 0) continue;
      const spec: FactSpec = {
        id: `composite|${comp.name}|${rec.key}`,
        kind: 'composite',
        subkind: comp.name,
        type: comp.type,
        key: rec.key,
        langs,
        name: {},
        questions: { en: phrases(comp.question.en, `composites.${comp.name}.en`), zh: phrases(comp.question.zh, `composites.${comp.name}.zh`) },
        answer: comp.answer,
        vars: {},
        facts: {},
        answerValues: {},
      };
      for (const lang of langs) {
        const entity = displayName(t, rec.data, lang);
        spec.name[lang] = entity;
        const vars: Record<string, string> = { entity, type: t.label[lang] };
        const facts: GroundFact[] = [];
        const values: string[] = [];
        for (const f of fields) {
          const column = columnFor(f!, rec, lang)!;
          const value = rec.data[column];
          vars[f!.name] = renderValue(value, lang);
          facts.push({ kind: 'value', type: comp.type, key: rec.key, field: column, value });
          values.push(...valueParts(value));
        }
        spec.vars[lang] = vars;
        spec.facts[lang] = facts;
        spec.answerValues[lang] = values;
      }
      out.push(spec);
    }
  }
  return out;
}


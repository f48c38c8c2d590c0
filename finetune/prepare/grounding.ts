import { columnsOf, displayName, type CoreConfig, type CoreRecord } from '../../src/core/schema.ts';
import { targetKeys } from '../../src/core/references.ts';
import { renderValue, valueParts } from './templates.ts';
import { assistantText, userText, type GroundFact, type Sample } from './types.ts';

// Every generated answer is checked against the source records: each fact the sample claims must
// hold in the record, and the answer must actually show it. A sample that fails is not written.

export interface GroundingIndex {
  core: CoreConfig;
  byKey: Map<string, Map<string, CoreRecord>>;
  namesByType: Map<string, Set<string>>;
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function groundingErrors(idx: GroundingIndex, s: Sample): string[] {
  const errors: string[] = [];
  const answer = assistantText(s);
  if (s.kind !== 'refusal' && s.facts.length === 0) errors.push('no fact backs this answer');
  for (const f of s.facts) errors.push(...factErrors(idx, s, f, answer));
  for (const v of s.answer_values) if (!answer.includes(v)) errors.push(`answer does not contain "${v}"`);
  if (s.citation) {
    const user = userText(s);
    if (!user.includes(`[${s.citation.passage}] `)) errors.push(`cited passage [${s.citation.passage}] is not in the prompt`);
    if (!user.includes(s.citation.quote)) errors.push('quoted sentence is not in the prompt');
    if (!s.answer_values.every((v) => s.citation!.quote.includes(v))) errors.push('quoted sentence does not state the answer');
  }
  return errors;
}

function factErrors(idx: GroundingIndex, s: Sample, f: GroundFact, answer: string): string[] {
  const t = idx.core.types[f.type];
  if (!t) return [`unknown type ${f.type}`];
  if (f.kind === 'absent') {
    if (f.attribute) {
      const label = f.field.toLowerCase();
      const clash = t.fields.some((x) => x.name === label || x.label?.en.toLowerCase() === label);
      return clash ? [`${f.type} does have a field "${f.field}"`] : [];
    }
    if (f.key === null) {
      const name = (f.name ?? '').toLowerCase();
      const errs = idx.namesByType.get(f.type)?.has(name) ? [`a ${f.type} called "${f.name}" exists`] : [];
      if (f.name && !answer.includes(f.name)) errs.push(`answer does not name "${f.name}"`);
      return errs;
    }
    const rec = idx.byKey.get(f.type)?.get(f.key);
    if (!rec) return [`${f.type} ${f.key} does not exist`];
    const field = t.fields.find((x) => x.name === f.field);
    if (!field) return [`${f.type} has no field ${f.field}`];
    return columnsOf(field).some((c) => rec.data[c] !== undefined) ? [`${f.type} ${f.key} does have ${f.field}`] : [];
  }
  const rec = idx.byKey.get(f.type)?.get(f.key);
  if (!rec) return [`${f.type} ${f.key} does not exist`];
  if (f.kind === 'value') {
    const errs: string[] = [];
    if (!sameValue(rec.data[f.field], f.value)) errs.push(`${f.type} ${f.key}.${f.field} is ${JSON.stringify(rec.data[f.field])}, not ${JSON.stringify(f.value)}`);
    const shown = Array.isArray(f.value) ? valueParts(f.value) : [renderValue(f.value, s.lang)];
    for (const v of shown) if (!answer.includes(v)) errs.push(`answer does not show ${f.field} "${v}"`);
    return errs;
  }
  // relation
  const rel = idx.core.relations.find((r) => r.name === f.relation);
  if (!rel) return [`unknown relation ${f.relation}`];
  const errs: string[] = [];
  const held = targetKeys(rec.data[f.field]);
  for (const target of f.targets) {
    if (!held.includes(target)) errs.push(`${f.type} ${f.key}.${f.field} does not reference ${target}`);
    const tr = idx.byKey.get(rel.to)?.get(target);
    if (!tr) {
      errs.push(`${rel.to} ${target} does not exist`);
      continue;
    }
    if (f.mention === 'targets') {
      const n = displayName(idx.core.types[rel.to], tr.data, s.lang);
      if (!answer.includes(n)) errs.push(`answer does not name ${rel.to} "${n}"`);
    }
  }
  if (f.mention === 'source') {
    const n = displayName(t, rec.data, s.lang);
    if (!answer.includes(n)) errs.push(`answer does not name ${f.type} "${n}"`);
  }
  return errs;
}

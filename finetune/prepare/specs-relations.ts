import { displayName, type CoreRecord, type Lang } from '../../src/core/schema.ts';
import { targetKeys } from '../../src/core/references.ts';
import { askableLangs, type BuildContext } from './context.ts';
import type { FactSpec } from './expand.ts';
import { phrases } from './templates.ts';
import type { GroundFact } from './types.ts';

// Relation and list questions. forward: about the `from` record, naming its target(s) (which
// company makes X; who exhibited at Y). inverse: about the `to` record, listing the records that
// point at it (which products does X make; which exhibitions did X attend).
// References to records that do not exist are left out and counted in a warning.

const joiner = (lang: Lang) => (lang === 'zh' ? '、' : ', ');

export function relationSpecs(ctx: BuildContext): FactSpec[] {
  const out: FactSpec[] = [];
  let broken = 0;
  for (const rel of ctx.core.relations) {
    const tpl = ctx.ft.templates.relations[rel.name];
    if (!tpl) {
      ctx.warnings.push(`relation ${rel.name}: no templates in finetune.templates.relations (no relation questions)`);
      continue;
    }
    const fromT = ctx.core.types[rel.from];
    const toT = ctx.core.types[rel.to];
    const targets = ctx.byKey.get(rel.to) ?? new Map<string, CoreRecord>();
    const sourcesOf = new Map<string, CoreRecord[]>();

    for (const rec of ctx.entities.get(rel.from) ?? []) {
      const keys = targetKeys(rec.data[rel.field]);
      const valid = keys.filter((k) => targets.has(k));
      broken += keys.length - valid.length;
      valid.forEach((k) => sourcesOf.set(k, [...(sourcesOf.get(k) ?? []), rec]));
      if (valid.length === 0) continue;
      const langs = askableLangs(ctx, fromT, rel.from, rec);
      if (langs.length === 0) continue;
      const fact: GroundFact = { kind: 'relation', type: rel.from, key: rec.key, field: rel.field, relation: rel.name, targets: valid, mention: 'targets' };
      out.push(
        spec(`rel|${rel.name}|forward|${rec.key}`, 'forward', rel.from, rec.key, langs, tpl.forward, (lang) => ({
          entity: displayName(fromT, rec.data, lang),
          values: valid.map((k) => displayName(toT, targets.get(k)!.data, lang)),
          facts: [fact],
        })),
      );
    }

    for (const target of ctx.entities.get(rel.to) ?? []) {
      const sources = sourcesOf.get(target.key);
      if (!sources?.length) continue;
      const langs = askableLangs(ctx, toT, rel.to, target);
      if (langs.length === 0) continue;
      const facts: GroundFact[] = sources.map((s) => ({
        kind: 'relation',
        type: rel.from,
        key: s.key,
        field: rel.field,
        relation: rel.name,
        targets: [target.key],
        mention: 'source',
      }));
      out.push(
        spec(`rel|${rel.name}|inverse|${target.key}`, 'inverse', rel.to, target.key, langs, tpl.inverse, (lang) => ({
          entity: displayName(toT, target.data, lang),
          values: sources.map((s) => displayName(fromT, s.data, lang)),
          facts,
        })),
      );
    }
  }
  if (broken > 0) ctx.warnings.push(`${broken} reference(s) to records that do not exist were left out (see \`kb core check\`)`);
  return out;
}

type Qa = { question: { en: Parameters<typeof phrases>[0]; zh: Parameters<typeof phrases>[0] }; answer: { en: string; zh: string } };

function spec(
  id: string,
  direction: 'forward' | 'inverse',
  type: string,
  key: string,
  langs: Lang[],
  qa: Qa,
  perLang: (lang: Lang) => { entity: string; values: string[]; facts: GroundFact[] },
): FactSpec {
  const rel = id.split('|')[1];
  const s: FactSpec = {
    id,
    kind: 'relation',
    subkind: direction,
    type,
    key,
    langs,
    name: {},
    questions: { en: phrases(qa.question.en, `relations.${rel}.${direction}.en`), zh: phrases(qa.question.zh, `relations.${rel}.${direction}.zh`) },
    answer: qa.answer,
    vars: {},
    facts: {},
    answerValues: {},
  };
  for (const lang of langs) {
    const { entity, values, facts } = perLang(lang);
    s.name[lang] = entity;
    s.vars[lang] = { entity, value: values.join(joiner(lang)) };
    s.facts[lang] = facts;
    s.answerValues[lang] = values;
  }
  return s;
}

import type { BuildContext } from './context.ts';
import { choose, fill, stableId, unitHash, type Phrase } from './templates.ts';
import type { GroundFact, Lang, Sample, SampleKind } from './types.ts';

// A fact specification (one fact about one record, in every language it can be asked) expanded
// into samples: `phrasings_per_fact` training phrasings per language, plus — for a seeded
// `test_fraction` of facts — one held-out phrasing that only the test split ever sees.

export interface FactSpec {
  id: string;
  kind: SampleKind;
  subkind: string | null;
  type: string;
  key: string | null;
  langs: Lang[];
  name: Partial<Record<Lang, string>>;
  questions: Record<Lang, Phrase[]>;
  answer: Record<Lang, string>;
  vars: Partial<Record<Lang, Record<string, string>>>;
  facts: Partial<Record<Lang, GroundFact[]>>;
  answerValues: Partial<Record<Lang, string[]>>;
}

export function systemMessages(ctx: BuildContext, lang: Lang): Sample['messages'] {
  const s = ctx.ft.system_prompt[lang];
  return s ? [{ role: 'system', content: s }] : [];
}

/** Whether a fact gets a held-out probe in the test split (same decision in every language). */
export function probedInTest(ctx: BuildContext, factId: string): boolean {
  return unitHash(ctx.seed, `test\u0000${factId}`) < ctx.ft.test_fraction;
}

export function expandSpec(ctx: BuildContext, spec: FactSpec, missingHeldout: Set<string>): Sample[] {
  const out: Sample[] = [];
  for (const lang of spec.langs) {
    const vars = spec.vars[lang]!;
    const all = spec.questions[lang];
    const train = all.filter((p) => !p.heldout);
    const held = all.filter((p) => p.heldout);
    const picked = choose(train, ctx.ft.phrasings_per_fact, ctx.seed, `${spec.id}\u0000${lang}`).map((p) => ({ p, heldout: false }));
    if (held.length === 0) missingHeldout.add(`${all[0]?.id.replace(/\.\d+$/, '') ?? spec.kind}`);
    else if (probedInTest(ctx, spec.id)) picked.push({ p: choose(held, 1, ctx.seed, `${spec.id}\u0000${lang}\u0000heldout`)[0], heldout: true });
    for (const { p, heldout } of picked) {
      out.push({
        id: stableId(spec.id, lang, p.id),
        kind: spec.kind,
        subkind: spec.subkind,
        lang,
        fact_id: spec.id,
        entity: { type: spec.type, key: spec.key, name: spec.name[lang] ?? '' },
        template: p.id,
        heldout,
        facts: spec.facts[lang] ?? [],
        answer_values: spec.answerValues[lang] ?? [],
        messages: [
          ...systemMessages(ctx, lang),
          { role: 'user', content: fill(p.text, vars) },
          { role: 'assistant', content: fill(spec.answer[lang], vars) },
        ],
      });
    }
  }
  return out;
}

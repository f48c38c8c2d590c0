import { targetKeys } from '../../src/core/references.ts';
import { allNames } from '../../src/core/schema.ts';
import { splitSentences } from '../../src/text/sentences.ts';
import type { BuildContext } from './context.ts';
import { probedInTest, systemMessages, type FactSpec } from './expand.ts';
import type { Passage, PassageSource } from './passages.ts';
import { choose, fill, stableId, unitHash } from './templates.ts';
import type { Lang, Sample } from './types.ts';

// RAFT samples (Retrieval-Augmented Fine-Tuning): a question, several retrieved passages — one
// oracle whose sentence states the fact, the rest distractors that do not mention the entity —
// and an answer that quotes and cites the oracle. A share of samples drops the oracle so the
// model also learns to answer from its records when the context does not help.

export interface RaftStats {
  path: string;
  candidates: number;
  samples: number;
  no_oracle_passage: number;
  oracle_dropped: number;
}

const MIN_VALUE_CHARS = 2;

/** A record's name, for finding which records a sentence mentions. */
export interface NameEntry {
  name: string;
  /** "type|key" */
  ref: string;
}

/**
 * The sentence of `text` that states the fact. It must hold the entity name and the value; every
 * other record it mentions must be directly related to the entity (a person's company, say) —
 * "X and Y signed a deal in Beijing" says nothing about where X is based; and the value must
 * survive masking those other names, so "会展服务" inside the company name "华南会展服务" does not
 * count as the entity's industry.
 */
export function quoteFor(text: string, name: string, value: string, subject: string, related: ReadonlySet<string>, names: readonly NameEntry[]): string | null {
  for (const s of splitSentences(text)) {
    const sentence = text.slice(s.start, s.end);
    if (!sentence.includes(name) || !sentence.includes(value)) continue;
    const others = names.filter((n) => n.ref !== subject && sentence.includes(n.name) && !name.includes(n.name) && !value.includes(n.name));
    if (others.some((n) => !related.has(n.ref))) continue;
    let masked = sentence.replaceAll(name, '\u0000');
    for (const o of others) masked = masked.replaceAll(o.name, '\u0001');
    if (masked.includes(value)) return sentence;
  }
  return null;
}

/** "type|key" of every record directly linked to (type, key) by a relation, either direction. */
export function relatedRefs(ctx: BuildContext, type: string, key: string): Set<string> {
  const out = new Set<string>();
  for (const rel of ctx.core.relations) {
    if (rel.from === type) for (const k of targetKeys(ctx.byKey.get(type)?.get(key)?.data[rel.field])) out.add(`${rel.to}|${k}`);
    if (rel.to === type)
      for (const r of ctx.entities.get(rel.from) ?? []) if (targetKeys(r.data[rel.field]).includes(key)) out.add(`${rel.from}|${r.key}`);
  }
  return out;
}

/** Cuts a passage to `max` characters, keeping `keep` (the quote) inside the window. */
export function trimAround(text: string, keep: string | null, max: number): string {
  if (text.length <= max) return text;
  const at = keep ? text.indexOf(keep) : 0;
  const start = Math.max(0, Math.min(at - Math.floor((max - (keep?.length ?? 0)) / 2), text.length - max));
  return `${start > 0 ? '…' : ''}${text.slice(start, start + max)}${start + max < text.length ? '…' : ''}`;
}

export async function raftSamples(ctx: BuildContext, specs: FactSpec[], source: PassageSource, piiValues: string[]): Promise<{ samples: Sample[]; stats: RaftStats }> {
  const cfg = ctx.ft.raft;
  const stats: RaftStats = { path: source.path, candidates: 0, samples: 0, no_oracle_passage: 0, oracle_dropped: 0 };
  const out: Sample[] = [];
  if (!cfg.enabled || cfg.max_samples === 0) return { samples: out, stats };
  const clean = (p: Passage) => !piiValues.some((v) => p.text.includes(v) || p.title.includes(v));
  // Only text values: a number or year co-occurring with a name in one sentence ("3,200", "2012")
  // too often states something else, so it cannot be checked as the oracle.
  const textValued = (s: FactSpec) => s.langs.every((l) => s.facts[l]?.every((f) => f.kind === 'value' && typeof f.value === 'string'));
  const names: NameEntry[] = [...ctx.entities]
    .flatMap(([type, list]) => list.flatMap((r) => allNames(ctx.core.types[type], r.data).map((name) => ({ name, ref: `${type}|${r.key}` }))))
    .sort((a, b) => b.name.length - a.name.length);
  const ordered = specs
    .filter((s) => s.kind === 'single_fact' && textValued(s))
    .map((s) => ({ s, r: unitHash(ctx.seed, `raft\u0000${s.id}`) }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.s);

  for (const spec of ordered) {
    for (const lang of spec.langs) {
      if (out.length >= cfg.max_samples) return { samples: out, stats };
      const values = spec.answerValues[lang] ?? [];
      const name = spec.name[lang];
      if (values.length !== 1 || !name || values[0].length < MIN_VALUE_CHARS) continue;
      stats.candidates++;
      const sample = await oneSample(ctx, spec, lang, name, values[0], source, clean, names, stats);
      if (sample) out.push(sample);
    }
  }
  stats.samples = out.length;
  return { samples: out, stats };
}

async function oneSample(
  ctx: BuildContext,
  spec: FactSpec,
  lang: Lang,
  name: string,
  value: string,
  source: PassageSource,
  clean: (p: Passage) => boolean,
  names: readonly NameEntry[],
  stats: RaftStats,
): Promise<Sample | null> {
  const cfg = ctx.ft.raft;
  const label = `${spec.id}\u0000${lang}`;
  const subject = `${spec.type}|${spec.key}`;
  const related = relatedRefs(ctx, spec.type, spec.key!);
  const oracles = source
    .mentioning(name, 50)
    .filter(clean)
    .map((p) => ({ p, quote: quoteFor(p.text, name, value, subject, related, names) }))
    .filter((x): x is { p: Passage; quote: string } => x.quote !== null);
  if (oracles.length === 0) {
    stats.no_oracle_passage++;
    return null;
  }
  const oracle = choose(oracles.map((o) => ({ ...o, id: String(o.p.chunkId) })), 1, ctx.seed, `oracle\u0000${label}`)[0];

  const heldout = probedInTest(ctx, spec.id);
  const pool = spec.questions[lang].filter((p) => p.heldout === heldout);
  if (pool.length === 0) return null;
  const phrase = choose(pool, 1, ctx.seed, `raft-q\u0000${label}`)[0];
  const question = fill(phrase.text, spec.vars[lang]!);

  // Distractors: related passages that do not mention the entity in any language.
  const ownNames = Object.values(spec.name).filter((n): n is string => Boolean(n));
  const notAbout = (p: Passage) => clean(p) && p.chunkId !== oracle.p.chunkId && !ownNames.some((n) => p.text.includes(n) || p.title.includes(n));
  const want = cfg.passages;
  const seen = new Set<number>();
  const distractors: Passage[] = [];
  const take = (list: Passage[]) => {
    for (const p of list) if (distractors.length < want && notAbout(p) && !seen.has(p.chunkId)) (seen.add(p.chunkId), distractors.push(p));
  };
  take(await source.related(question, want * 3));
  if (distractors.length < want) take(source.arbitrary(Math.floor(unitHash(ctx.seed, `fill\u0000${label}`) * 2 ** 31), want * 4));
  const dropOracle = unitHash(ctx.seed, `drop\u0000${label}`) < cfg.oracle_drop_ratio;
  const shown = dropOracle ? distractors.slice(0, want) : distractors.slice(0, want - 1);
  if (shown.length < (dropOracle ? want : want - 1)) return null;
  const position = dropOracle ? -1 : Math.floor(unitHash(ctx.seed, `pos\u0000${label}`) * want);
  const passages = shown.map((p) => ({ p, text: trimAround(p.text, null, cfg.max_passage_chars) }));
  if (!dropOracle) passages.splice(position, 0, { p: oracle.p, text: trimAround(oracle.p.text, oracle.quote, cfg.max_passage_chars) });

  const rendered = passages.map((x, i) => `[${i + 1}] ${x.p.title}\n${x.text}`).join('\n\n');
  const factSentence = fill(spec.answer[lang], spec.vars[lang]!);
  const answer = dropOracle
    ? fill(ctx.ft.templates.raft.no_oracle_answer[lang], { answer: factSentence })
    : fill(ctx.ft.templates.raft.answer[lang], { answer: factSentence, cite: String(position + 1), quote: oracle.quote });
  if (dropOracle) stats.oracle_dropped++;

  return {
    id: stableId('raft', spec.id, lang),
    kind: 'raft',
    subkind: dropOracle ? 'no_oracle' : 'oracle',
    lang,
    fact_id: spec.id,
    entity: { type: spec.type, key: spec.key, name },
    template: phrase.id,
    heldout,
    facts: spec.facts[lang] ?? [],
    answer_values: spec.answerValues[lang] ?? [],
    messages: [
      ...systemMessages(ctx, lang),
      { role: 'user', content: fill(ctx.ft.templates.raft.prompt[lang], { passages: rendered, question }) },
      { role: 'assistant', content: answer },
    ],
    ...(dropOracle ? {} : { citation: { passage: position + 1, chunk_id: oracle.p.chunkId, document: oracle.p.document, quote: oracle.quote } }),
    distractors: shown.map((p) => p.chunkId),
  };
}

import crypto from 'node:crypto';
import type { Phrasing } from '../../src/config/sections/finetune.ts';
import type { CoreField, CoreValue, Lang } from '../../src/core/schema.ts';

// Template plumbing: phrasings with held-out flags, placeholder filling, value rendering and the
// seeded, order-independent choices (a hash of seed + label, so adding a record does not reshuffle
// every other record's phrasings or split).

export interface Phrase {
  text: string;
  heldout: boolean;
  /** Template id used in sample records, e.g. "field.en.3". */
  id: string;
}

export function phrases(list: readonly Phrasing[], idPrefix: string): Phrase[] {
  return list.map((p, i) =>
    typeof p === 'string' ? { text: p, heldout: false, id: `${idPrefix}.${i}` } : { text: p.text, heldout: p.heldout, id: `${idPrefix}.${i}` },
  );
}

export class TemplateError extends Error {}

/** Replaces {name} placeholders; a placeholder without a value is a configuration error. */
export function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_whole, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new TemplateError(`template "${template}" uses {${name}}, which is not available here`);
    return v;
  });
}

/** How a value reads inside an answer: lists joined per language, numbers and dates verbatim. */
export function renderValue(value: CoreValue, lang: Lang): string {
  if (Array.isArray(value)) return value.join(lang === 'zh' ? '、' : ', ');
  return String(value);
}

/** The individual strings an answer must contain for a value (each list item on its own). */
export function valueParts(value: CoreValue): string[] {
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

export function fieldLabel(field: CoreField, lang: Lang): string {
  return field.label?.[lang] ?? field.name.replaceAll('_', ' ');
}

/** Uniform number in [0, 1) from a seed and a label (sha256): deterministic, independent per label. */
export function unitHash(seed: number, label: string): number {
  const h = crypto.createHash('sha256').update(`${seed}\u0000${label}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function stableId(...parts: string[]): string {
  return crypto.createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

/** `n` items chosen by seeded hash order (deterministic for seed + label). */
export function choose<T extends { id: string }>(items: readonly T[], n: number, seed: number, label: string): T[] {
  return [...items]
    .map((it) => ({ it, r: unitHash(seed, `${label}\u0000${it.id}`) }))
    .sort((a, b) => a.r - b.r)
    .slice(0, n)
    .map((x) => x.it);
}

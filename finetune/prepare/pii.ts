import { columnsOf, type CoreConfig } from '../../src/core/schema.ts';
import type { CoreEntities } from '../../src/core/store.ts';
import type { Sample } from './types.ts';

// PII guard. Samplers never ask about PII fields, but a PII value could still reach training
// text another way (a news passage quoting a phone number, an operator template). So every
// sample's full text is scanned for every PII value that is not opted in; a hit drops the sample.

/** Shortest value scanned for: shorter strings ("A", "12") would match everywhere. */
const MIN_PII_CHARS = 4;

export function piiValues(core: CoreConfig, entities: CoreEntities, optIn: readonly string[]): string[] {
  const out = new Set<string>();
  for (const [type, list] of entities) {
    const t = core.types[type];
    const fields = t.fields.filter((f) => f.pii && !optIn.includes(`${type}.${f.name}`));
    for (const rec of list)
      for (const f of fields)
        for (const c of columnsOf(f)) {
          const v = rec.data[c];
          for (const s of v === undefined ? [] : Array.isArray(v) ? v : [String(v)]) if (s.length >= MIN_PII_CHARS) out.add(s);
        }
  }
  return [...out];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A matcher over all PII values: alternations in batches, so large record sets stay fast. */
export function piiMatcher(values: readonly string[]): (text: string) => string | null {
  const sorted = [...values].sort((a, b) => b.length - a.length);
  const batches: RegExp[] = [];
  for (let i = 0; i < sorted.length; i += 500) batches.push(new RegExp(sorted.slice(i, i + 500).map(escapeRe).join('|')));
  return (text) => {
    for (const re of batches) {
      const m = re.exec(text);
      if (m) return m[0];
    }
    return null;
  };
}

export function containsPii(s: Sample, match: (text: string) => string | null): string | null {
  for (const m of s.messages) {
    const hit = match(m.content);
    if (hit) return hit;
  }
  return null;
}

import { exactJaccard } from '../../src/text/dedupe/minhash.ts';
import { assistantText, userText, type Sample } from './types.ts';

// Duplicate removal. Exact: same normalised question and answer. Near: same normalised answer and
// questions whose character-trigram Jaccard similarity reaches the threshold (a phrasing that
// differs only by punctuation or one short word). Training phrasings are kept over held-out ones,
// then the lower id wins, so the result does not depend on input order.

export const normalise = (s: string): string => s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

const SHINGLE = 3;

export interface DedupeResult {
  kept: Sample[];
  exact: number;
  near: number;
}

export function dedupe(samples: Sample[], threshold: number): DedupeResult {
  const ordered = [...samples].sort((a, b) => Number(a.heldout) - Number(b.heldout) || a.id.localeCompare(b.id));
  const exactSeen = new Set<string>();
  const byAnswer = new Map<string, string[]>();
  const kept: Sample[] = [];
  let exact = 0;
  let near = 0;
  for (const s of ordered) {
    const q = normalise(userText(s));
    const a = normalise(assistantText(s));
    const key = `${q}\u0000${a}`;
    if (exactSeen.has(key)) {
      exact++;
      continue;
    }
    const siblings = byAnswer.get(a) ?? [];
    if (siblings.some((other) => exactJaccard(other, q, SHINGLE) >= threshold)) {
      near++;
      continue;
    }
    exactSeen.add(key);
    siblings.push(q);
    byAnswer.set(a, siblings);
    kept.push(s);
  }
  return { kept, exact, near };
}

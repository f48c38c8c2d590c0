import { normalise } from './dedupe.ts';
import { unitHash } from './templates.ts';
import { userText, type Sample, type Split } from './types.ts';

// Splits. Held-out phrasings go to test and nowhere else, so the test split measures whether a
// fact was learned rather than whether a wording was memorised. Training phrasings go to val with
// probability val_fraction (seeded hash of the sample id: stable when other records change), but
// every fact keeps at least one train sample, so val/test never ask about facts train lacks.

export interface SplitResult {
  train: Sample[];
  val: Sample[];
  test: Sample[];
  /** Test samples dropped because their question also appears in train (leakage guard). */
  leaked: number;
  /** Test samples dropped because no train sample teaches their fact (its train samples were filtered out). */
  untaught: number;
}

export function splitSamples(samples: Sample[], seed: number, valFraction: number): SplitResult {
  const byId = [...samples].sort((a, b) => a.id.localeCompare(b.id));
  const assigned = new Map<string, Split>();
  for (const s of byId) assigned.set(s.id, s.heldout ? 'test' : unitHash(seed, `val\u0000${s.id}`) < valFraction ? 'val' : 'train');
  const trainFacts = new Set(byId.filter((s) => assigned.get(s.id) === 'train').map((s) => s.fact_id));
  for (const s of byId) {
    if (assigned.get(s.id) === 'val' && !trainFacts.has(s.fact_id)) {
      assigned.set(s.id, 'train');
      trainFacts.add(s.fact_id);
    }
  }
  const train = byId.filter((s) => assigned.get(s.id) === 'train');
  const trainQuestions = new Set(train.map((s) => normalise(userText(s))));
  const test = byId.filter((s) => assigned.get(s.id) === 'test');
  const cleanTest = test.filter((s) => !trainQuestions.has(normalise(userText(s))));
  const taughtTest = cleanTest.filter((s) => trainFacts.has(s.fact_id));
  const withSplit = (list: Sample[], split: Split) => list.map((s) => ({ ...s, split }));
  return {
    train: withSplit(train, 'train'),
    val: withSplit(byId.filter((s) => assigned.get(s.id) === 'val'), 'val'),
    test: withSplit(taughtTest, 'test'),
    leaked: test.length - cleanTest.length,
    untaught: cleanTest.length - taughtTest.length,
  };
}

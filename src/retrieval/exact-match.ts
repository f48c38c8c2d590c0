import { toSimplifiedChinese } from '../text/analyzer.ts';

// Exact title / phrase matches. A user who pastes a document's title, or quotes a phrase, wants
// that document first; BM25 usually ranks it first already, but fusion stages and a small score
// spread must never bury it. Matching is on a normal form (NFKC, lower case, Simplified Chinese,
// letters and digits only) so punctuation, spacing and Traditional/Simplified differences do not
// matter.

export type ExactMatch = 'title' | 'phrase';

const HAN = /\p{Script=Han}/u;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;
// Text inside "…", “…”, 「…」, 『…』 or 《…》: an explicitly quoted phrase.
const QUOTED = /"([^"]+)"|“([^”]+)”|「([^」]+)」|『([^』]+)』|《([^》]+)》/gu;

export function normalForm(s: string): string {
  let t = s.normalize('NFKC').toLowerCase();
  if (HAN.test(t)) t = toSimplifiedChinese(t);
  return t.replace(NOT_WORD, '');
}

export interface ExactQuery {
  /** Normal form of the whole query. */
  whole: string;
  /** Normal forms of the phrases to look for in passages (quoted parts, or the whole query when long enough). */
  phrases: string[];
}

/**
 * Prepares a query once per request. The whole query counts as a phrase only when it has at
 * least `minPhraseChars` letters/digits: a two-word query found verbatim in a passage says little.
 */
export function exactQuery(query: string, minPhraseChars: number): ExactQuery {
  const whole = normalForm(query);
  const phrases: string[] = [];
  for (const m of query.matchAll(QUOTED)) {
    const p = normalForm(m.slice(1).find((x) => x !== undefined) ?? '');
    if (p.length >= 2) phrases.push(p);
  }
  if (phrases.length === 0 && whole.length >= minPhraseChars) phrases.push(whole);
  return { whole, phrases };
}

/** Normal forms of a passage's title and text (see `normalForm`). */
export interface PassageForms {
  title: string;
  text: string;
}

export function passageForms(title: string, text: string): PassageForms {
  return { title: normalForm(title), text: normalForm(text) };
}

/**
 * 'title' when the query is the document's title, 'phrase' when every phrase occurs in title or
 * text. Takes the passage's normal forms so callers can cache them (≈ 1 ms per 500 Chinese
 * characters, mostly the Traditional→Simplified conversion).
 */
export function exactMatch(q: ExactQuery, forms: PassageForms): ExactMatch | null {
  if (q.whole.length === 0) return null;
  if (forms.title.length >= 2 && forms.title === q.whole) return 'title';
  if (q.phrases.length === 0) return null;
  return q.phrases.every((p) => forms.title.includes(p) || forms.text.includes(p)) ? 'phrase' : null;
}

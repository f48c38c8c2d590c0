import { conversionSources, toSimplifiedChinese } from '../text/analyzer.ts';

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
  return finish(fold(s));
}

/** The first step of the normal form: NFKC, lower case. */
const fold = (s: string): string => s.normalize('NFKC').toLowerCase();

/** The rest: Simplified Chinese, letters and digits only. */
function finish(folded: string): string {
  return (HAN.test(folded) ? toSimplifiedChinese(folded) : folded).replace(NOT_WORD, '');
}

export interface ExactQuery {
  /** Normal form of the whole query. */
  whole: string;
  /** Normal forms of the phrases to look for in passages (quoted parts, or the whole query when long enough). */
  phrases: string[];
  /**
   * Per phrase, per distinct Chinese character in it: that character and the characters the
   * Traditional→Simplified conversion can turn into it. A passage lacking every one of some
   * character's set cannot contain the phrase, whatever the conversion does.
   */
  needs: string[][][];
}

function needsOf(phrase: string): string[][] {
  return [...new Set([...phrase].filter((ch) => HAN.test(ch)))].map((ch) => [ch, ...conversionSources(ch)]);
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
  return { whole, phrases, needs: phrases.map(needsOf) };
}

/**
 * A passage as exact matching sees it: its title's normal form, and its text's — converted only
 * when a phrase may occur in it. Converting Chinese text to Simplified is the expensive part
 * (≈ 25 µs per 500-character passage, ≈ 7% of a retrieval at 1M chunks for 60 candidates), and
 * most candidates of a Chinese query lack one of the phrase's characters in every form.
 */
export interface PassageForms {
  title: string;
  /** The text NFKC-folded and lower-cased: what the conversion would run on. */
  folded: string;
  /** The text's normal form, once computed. */
  text: string | null;
}

export function passageForms(title: string, text: string): PassageForms {
  return { title: normalForm(title), folded: fold(text), text: null };
}

/** Whether the folded text holds, for every Chinese character of the phrase, it or a character that converts to it. */
function mayHold(folded: string, needs: string[][]): boolean {
  return needs.every((alternatives) => alternatives.some((ch) => folded.includes(ch)));
}

/**
 * 'title' when the query is the document's title, 'phrase' when every phrase occurs in title or
 * text. Takes the passage's forms so callers can cache them.
 */
export function exactMatch(q: ExactQuery, forms: PassageForms): ExactMatch | null {
  if (q.whole.length === 0) return null;
  if (forms.title.length >= 2 && forms.title === q.whole) return 'title';
  if (q.phrases.length === 0) return null;
  return q.phrases.every((p, i) => forms.title.includes(p) || (mayHold(forms.folded, q.needs[i]) && (forms.text ??= finish(forms.folded)).includes(p))) ? 'phrase' : null;
}

// Query-focused passage selection: picks the sentences of a chunk that share the most terms
// with the question. Used for citation snippets and for extractive answers.

// Sentence ends: CJK/ASCII terminators, or a period followed by whitespace (not a decimal point).
const SENTENCE_SPLIT_RE = /(?<=[。！？!?；;])|(?<=\.)\s+|\n+/;
const CJK_RUN_RE = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;
const STOP = new Set(['the', 'a', 'an', 'of', 'to', 'in', 'on', 'and', 'or', 'is', 'are', 'was', 'were', 'what', 'which', 'who', 'how', 'why', 'when', 'does', 'did', 'do', 'for', 'with', 'about', 'it', 'its', 'this', 'that', 'be', 'by', 'as', 'at', 'from']);

/** Query terms: lower-cased words (≥2 letters, no stop words) and CJK character bigrams. */
export function queryTerms(query: string): Set<string> {
  const terms = new Set<string>();
  for (const w of query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (/^[a-z0-9]+$/.test(w) && w.length >= 2 && !STOP.has(w)) terms.add(w);
  }
  for (const run of query.match(CJK_RUN_RE) ?? []) {
    if (run.length === 1) terms.add(run);
    for (let i = 0; i + 1 < run.length; i++) terms.add(run.slice(i, i + 2));
  }
  return terms;
}

function scoreSentence(sentence: string, terms: Set<string>): number {
  const lower = sentence.toLowerCase();
  let score = 0;
  for (const t of terms) if (lower.includes(t)) score += 1;
  return score;
}

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * The most query-relevant excerpt of `text`, at most `maxChars` characters: the best sentence
 * plus its neighbours while they fit; the text's start when nothing matches.
 */
export function bestExcerpt(text: string, query: string, maxChars: number): string {
  const sentences = text.split(SENTENCE_SPLIT_RE).map(squash).filter(Boolean);
  if (sentences.length === 0) return '';
  const terms = queryTerms(query);
  let best = 0;
  let bestScore = -1;
  sentences.forEach((s, i) => {
    const sc = scoreSentence(s, terms);
    if (sc > bestScore) {
      bestScore = sc;
      best = i;
    }
  });
  if (bestScore <= 0) best = 0;
  let lo = best;
  let hi = best;
  let out = sentences[best];
  // Grow forward first (context after a matching sentence usually completes it), then back.
  for (;;) {
    const next = hi + 1 < sentences.length ? joinSentences(out, sentences[hi + 1]) : null;
    if (next && next.length <= maxChars) {
      out = next;
      hi++;
      continue;
    }
    const prev = lo > 0 ? joinSentences(sentences[lo - 1], out) : null;
    if (prev && prev.length <= maxChars) {
      out = prev;
      lo--;
      continue;
    }
    break;
  }
  return out.length > maxChars ? `${out.slice(0, Math.max(1, maxChars - 1)).trimEnd()}…` : out;
}

function joinSentences(a: string, b: string): string {
  // No space between CJK sentences; one between others.
  return /[\u3000-\u9fff\uff00-\uffef]$/.test(a) ? a + b : `${a} ${b}`;
}

/**
 * Paragraph and sentence boundaries as character spans over the original string, so callers can
 * slice the exact source text (chunk offsets must point into the document body).
 *
 * Handles both full-width Chinese punctuation and the ASCII forms NFKC turns it into
 * (！？；→ !?; and …→...), since bodies are NFKC-normalised before chunking.
 */

export interface Span {
  start: number;
  end: number;
}

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
// Terminators that always end a sentence (Chinese/Japanese forms).
const CJK_TERMINATORS = new Set(['。', '！', '？', '；', '…', '｡', '︒']);
const ASCII_TERMINATORS = new Set(['.', '!', '?', ';']);
// Closing quotes/brackets that belong to the sentence they follow.
const CLOSERS = new Set(['”', '’', '"', "'", '」', '』', ')', '）', ']', '】', '》', '〉', '»', '›', '〕']);
const OPENERS = new Set(['“', '‘', '"', "'", '「', '『', '(', '（', '[', '【', '《', '〈', '«', '‹']);

// Tokens that end with "." without ending the sentence (compared lower-cased, without the dot).
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'inc', 'ltd', 'co', 'corp',
  'no', 'nos', 'fig', 'figs', 'vol', 'pp', 'ed', 'eds', 'approx', 'est', 'dept', 'gen', 'gov', 'sen',
  'rep', 'lt', 'col', 'capt', 'sgt', 'cmdr', 'adm', 'rev', 'hon', 'ave', 'blvd', 'rd', 'jan', 'feb',
  'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'mon', 'tue', 'wed', 'thu',
  'fri', 'sat', 'sun', 'al', 'cf', 'ca', 'viz', 'min', 'max', 'dept', 'univ', 'assn', 'bros',
]);
// Dotted initialisms: "U.S", "e.g", "i.e", "p.m", "Ph.D".
const DOTTED = /^(?:[a-z]{1,2}\.)+[a-z]{1,2}$/i;

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\u3000' || ch === '\u00a0';
}

function isCjk(ch: string | undefined): boolean {
  return ch !== undefined && CJK_CHAR.test(ch);
}

function isUpper(ch: string | undefined): boolean {
  return ch !== undefined && ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

function isLower(ch: string | undefined): boolean {
  return ch !== undefined && ch !== ch.toUpperCase() && ch === ch.toLowerCase();
}

/** The letters-and-dots word that ends right before `dot` (e.g. "U.S" before the final "."). */
function wordBefore(text: string, dot: number, floor: number): string {
  let i = dot;
  while (i > floor && /[A-Za-z.]/.test(text[i - 1]!)) i--;
  return text.slice(i, dot);
}

function isAbbreviation(word: string): boolean {
  if (!word) return false;
  if (/^[A-Z]$/.test(word)) return true; // initials: "J. K. Rowling"
  const lower = word.toLowerCase();
  return ABBREVIATIONS.has(lower) || DOTTED.test(lower);
}

/** Non-blank paragraphs (separated by one or more blank lines), trimmed. */
export function splitParagraphs(text: string): Span[] {
  const spans: Span[] = [];
  const sep = /\n[ \t\r\u3000]*\n\s*/g;
  let pos = 0;
  for (;;) {
    const m = sep.exec(text);
    const end = m ? m.index : text.length;
    const span = trimSpan(text, pos, end);
    if (span) spans.push(span);
    if (!m) break;
    pos = sep.lastIndex;
  }
  return spans;
}

function trimSpan(text: string, start: number, end: number): Span | null {
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return end > start ? { start, end } : null;
}

/**
 * Decides whether the terminator run text[i..runEnd) followed by closers up to `after` ends a
 * sentence.
 */
function endsSentence(text: string, i: number, runEnd: number, after: number, regionStart: number, regionEnd: number): boolean {
  const run = text.slice(i, runEnd);
  const next = after < regionEnd ? text[after] : undefined;
  const prev = i > regionStart ? text[i - 1] : undefined;
  if ([...run].some((ch) => CJK_TERMINATORS.has(ch))) return true;
  // ASCII punctuation from here on (possibly NFKC-converted Chinese punctuation).
  if (next === undefined) return true;
  const nextIsSpace = isSpace(next);
  if (!nextIsSpace && !isCjk(next)) return false; // "3.5", "a.b.c", "U.S.-led", "x!=y"
  let k = after;
  while (k < regionEnd && isSpace(text[k])) k++;
  const nextWordStart = k < regionEnd ? text[k] : undefined;

  if (/[!?]/.test(run)) return true;
  if (run === ';') return isCjk(prev) || isCjk(next); // English ";" joins clauses
  if (/^\.+$/.test(run)) {
    if (isCjk(next)) return isCjk(prev) || run.length > 1;
    if (run.length > 1) {
      // Ellipsis: ends the sentence only when something sentence-like starts next.
      return nextWordStart === undefined || isUpper(nextWordStart) || isCjk(nextWordStart) || OPENERS.has(nextWordStart);
    }
    if (isCjk(prev)) return true; // Chinese text typed with a half-width full stop
    if (after === runEnd && isAbbreviation(wordBefore(text, i, regionStart))) return false;
    if (isLower(nextWordStart)) return false; // unknown abbreviation followed by a lower-case word
    return true;
  }
  // Mixed runs like ".;" — treat as a boundary.
  return true;
}

/**
 * Sentences inside text[start, end), trimmed, as spans. A line break always ends a sentence.
 * Chinese: 。！？；… (and their NFKC forms) end a sentence, with trailing closing quotes ”」』
 * kept in it. English: . ! ? followed by whitespace (after optional closing quotes), except after
 * common abbreviations (Mr., e.g., U.S., initials) and before a lower-case word; decimals like
 * 3.5 never split.
 */
export function splitSentences(text: string, start = 0, end = text.length): Span[] {
  const spans: Span[] = [];
  let sentenceStart = start;
  let i = start;
  const push = (s: number, e: number): void => {
    const span = trimSpan(text, s, e);
    if (span) spans.push(span);
  };
  while (i < end) {
    const ch = text[i]!;
    if (ch === '\n') {
      push(sentenceStart, i);
      sentenceStart = i + 1;
      i++;
      continue;
    }
    if (CJK_TERMINATORS.has(ch) || ASCII_TERMINATORS.has(ch)) {
      let runEnd = i + 1;
      while (runEnd < end && (CJK_TERMINATORS.has(text[runEnd]!) || ASCII_TERMINATORS.has(text[runEnd]!))) runEnd++;
      let after = runEnd;
      while (after < end && CLOSERS.has(text[after]!)) after++;
      if (endsSentence(text, i, runEnd, after, start, end)) {
        push(sentenceStart, after);
        sentenceStart = after;
      }
      i = Math.max(after, i + 1);
      continue;
    }
    i++;
  }
  push(sentenceStart, end);
  return spans;
}

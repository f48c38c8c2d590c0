import { createHash } from 'node:crypto';

// Every line-break form (CRLF, lone CR, NEL, Unicode line/paragraph separators) becomes "\n".
const LINE_BREAKS = /\r\n?|[\u0085\u2028\u2029]/g;
// C0/C1 controls except \t and \n, plus invisible format characters (zero-width space/joiners,
// word joiner, BOM, soft hyphen, bidi marks and embeddings). They break tokenisation and hashing
// without carrying visible text.
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;
// Vertical tab / form feed act as separators: turn them into spaces rather than joining words.
const SOFT_SEPARATORS = /[\u000b\u000c]/g;
// Tabs and every Unicode space separator (NBSP, ideographic space, thin spaces...).
const HORIZONTAL_SPACE_RUN = /[\t\p{Zs}]+/gu;
const BLANK_LINE_RUN = /\n{3,}/g;

/**
 * Canonical text form used everywhere downstream (hashing, chunking, indexing):
 * NFKC, "\n" line endings, no control/zero-width characters, single spaces, trimmed lines,
 * paragraphs separated by exactly one blank line ("\n\n"), no leading/trailing blank lines.
 * Note NFKC maps full-width punctuation (！？；：，) to ASCII and "…" to "...";
 * the sentence splitter handles both forms. Idempotent.
 */
export function normalizeText(s: string): string {
  const unified = s
    .replace(LINE_BREAKS, '\n')
    .normalize('NFKC')
    // NFKC can itself produce line breaks / controls from compatibility forms; clean after it.
    .replace(LINE_BREAKS, '\n')
    .replace(SOFT_SEPARATORS, ' ')
    .replace(INVISIBLE, '')
    .replace(HORIZONTAL_SPACE_RUN, ' ');
  const lines = unified.split('\n').map((line) => line.trim());
  return lines.join('\n').replace(BLANK_LINE_RUN, '\n\n').replace(/^\n+|\n+$/g, '');
}

/** Normalised text with all whitespace runs (including line breaks) collapsed to one space. */
export function collapseWhitespace(s: string): string {
  return normalizeText(s).replace(/\s+/g, ' ').trim();
}

/**
 * Exact-duplicate key: hex SHA-256 of the normalised text with whitespace collapsed, so the same
 * article re-wrapped or re-spaced by another source hashes identically.
 */
export function hashText(s: string): string {
  return createHash('sha256').update(collapseWhitespace(s), 'utf8').digest('hex');
}

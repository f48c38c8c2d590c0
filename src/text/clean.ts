import { htmlToText, looksLikeHtml } from './html.ts';
import { normalizeText } from './normalize.ts';

export interface CleanOptions {
  /** Cleaned bodies shorter than this (UTF-16 code units; a CJK character counts 1) are rejected. */
  min_chars: number;
  /** Cleaned bodies longer than this are truncated, at a paragraph boundary when possible. */
  max_chars: number;
  /** Regular expressions (case-insensitive) matched against each trimmed line; matches are removed. */
  boilerplate_patterns: string[];
}

export type CleanRejectReason = 'empty_body' | 'too_short';

export type CleanResult =
  | { ok: true; title: string; body: string; truncated: boolean; removed_lines: number }
  | { ok: false; reason: CleanRejectReason; detail: string };

/** A line seen this many times in one document is template text (share bars, bylines, ads). */
const REPEATED_LINE_MIN = 3;

const compiledCache = new Map<string, RegExp[]>();

/** Compiles boilerplate patterns once; an invalid pattern is a configuration error. */
export function compileBoilerplatePatterns(patterns: readonly string[]): RegExp[] {
  const key = JSON.stringify(patterns);
  const cached = compiledCache.get(key);
  if (cached) return cached;
  const compiled = patterns.map((pattern, i) => {
    try {
      return new RegExp(pattern, 'iu');
    } catch (err) {
      throw new Error(
        `cleaning.boilerplate_patterns[${i}] is not a valid regular expression (${JSON.stringify(pattern)}): ${(err as Error).message}`,
      );
    }
  });
  compiledCache.set(key, compiled);
  return compiled;
}

function toPlainText(s: string): string {
  return normalizeText(looksLikeHtml(s) ? htmlToText(s) : s);
}

function removeNoiseLines(body: string, patterns: RegExp[]): { text: string; removed: number } {
  const lines = body.split('\n');
  const counts = new Map<string, number>();
  for (const line of lines) if (line) counts.set(line, (counts.get(line) ?? 0) + 1);
  let removed = 0;
  const kept = lines.filter((line) => {
    if (!line) return true; // paragraph separators
    // Lines are already trimmed by normalizeText; every copy of a repeated line goes, since
    // keeping one would still leave the template text in the document.
    if ((counts.get(line) ?? 0) >= REPEATED_LINE_MIN || patterns.some((re) => re.test(line))) {
      removed += 1;
      return false;
    }
    return true;
  });
  return { text: normalizeText(kept.join('\n')), removed };
}

/**
 * Cuts to at most maxChars, preferring (in order) the last paragraph break, line break or
 * sentence end in the second half of the allowed text; never splits a surrogate pair.
 */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // don't keep half a surrogate pair
  const head = text.slice(0, cut);
  const minKeep = Math.floor(maxChars / 2);
  const paragraph = head.lastIndexOf('\n\n');
  if (paragraph >= minKeep) return head.slice(0, paragraph);
  const line = head.lastIndexOf('\n');
  if (line >= minKeep) return head.slice(0, line);
  const sentenceEnd = Math.max(...['。', '!', '?', '. ', '！', '？'].map((p) => head.lastIndexOf(p)));
  if (sentenceEnd >= minKeep) return head.slice(0, sentenceEnd + 1).trimEnd();
  return head.trimEnd();
}

/**
 * Cleans one document for indexing: HTML → text, normalisation, boilerplate and repeated-line
 * removal, then the length rules. A rejected document comes back with a machine-readable reason
 * (for the quarantine table) and a human-readable detail; nothing is dropped silently.
 */
export function cleanDocument(doc: { title: string; body: string }, opts: CleanOptions): CleanResult {
  if (!(opts.max_chars > 0) || opts.min_chars < 0 || opts.min_chars > opts.max_chars) {
    throw new Error(`invalid cleaning limits: min_chars=${opts.min_chars}, max_chars=${opts.max_chars}`);
  }
  const patterns = compileBoilerplatePatterns(opts.boilerplate_patterns);
  // Titles are single-line.
  const title = toPlainText(doc.title ?? '').replace(/\s+/g, ' ').trim();
  const rawBody = doc.body ?? '';
  const plain = toPlainText(rawBody);
  if (plain.length === 0) {
    return {
      ok: false,
      reason: 'empty_body',
      detail: rawBody.trim().length === 0
        ? 'body is empty'
        : `body has no text after HTML/whitespace cleanup (raw ${rawBody.length} chars)`,
    };
  }
  const { text, removed } = removeNoiseLines(plain, patterns);
  if (text.length === 0) {
    return {
      ok: false,
      reason: 'empty_body',
      detail: `all ${removed} lines were boilerplate or repeated lines`,
    };
  }
  if (text.length < opts.min_chars) {
    return {
      ok: false,
      reason: 'too_short',
      detail: `cleaned body has ${text.length} chars, minimum is ${opts.min_chars}`,
    };
  }
  const body = truncateText(text, opts.max_chars);
  return { ok: true, title, body, truncated: body.length < text.length, removed_lines: removed };
}

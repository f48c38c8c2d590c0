import { createRequire } from 'node:module';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import OpenCC from 'opencc-js';
import { CHINESE_STOPWORDS, ENGLISH_STOPWORDS } from './stopwords.ts';

/**
 * The BM25 analyzer, used identically at index time (chunks_fts.terms) and query time.
 *
 * Chinese: Traditional → Simplified (Hong Kong variants, then Taiwan variants and phrases, so
 * both 衞/衛 and 著/着 forms map to the Mainland form), jieba search-mode segmentation without the
 * HMM (a span the dictionary lacks — a name, a new term — becomes its characters rather than a
 * guessed word that the same name in a question may not reproduce: +0.006 recall@1 on CMRC 2018,
 * held out, BENCHMARKS.md "Analysis choices")
 * (cutForSearch also emits the dictionary words inside long words, e.g. 中华人民共和国 → 中华,
 * 人民, 共和国, ..., so a query using a shorter word still matches), then stopwords.
 * English and other space-separated scripts: lower-case, split on anything that is not a
 * letter/digit ("covid-19" → covid, 19; "5G" → 5g), strip Latin diacritics, drop stopwords,
 * Porter2-stem purely alphabetic ASCII words of at most MAX_STEM_CHARS letters.
 * Every term is a run of letters/digits only, so it is a single token for FTS5's unicode61
 * tokenizer and never needs escaping inside the index.
 */

// wink-porter2-stemmer is CommonJS without type declarations.
const stem = createRequire(import.meta.url)('wink-porter2-stemmer') as (word: string) => string;

let jiebaInstance: Jieba | undefined;
function jieba(): Jieba {
  // Loading the bundled dictionary takes ~0.5 s: do it once, on first use.
  jiebaInstance ??= Jieba.withDict(dict);
  return jiebaInstance;
}

let converter: ((s: string) => string) | undefined;
/**
 * Traditional (HK, TW or OpenCC-standard) → Simplified Chinese. Simplified input passes through
 * essentially unchanged. hk→cn handles HK glyph variants (衞, 粧) and the generic t2s tables;
 * tw→cn then maps Taiwan-specific usage (看著 → 看着) while keeping phrases like 著名.
 */
export function toSimplifiedChinese(s: string): string {
  if (!converter) {
    const fromHk = OpenCC.Converter({ from: 'hk', to: 'cn' });
    const fromTw = OpenCC.Converter({ from: 'tw', to: 'cn' });
    converter = (text) => fromTw(fromHk(text));
  }
  return converter(s);
}

// Output character → input characters that a table entry rewrites into it (from the same OpenCC
// tables toSimplifiedChinese runs: hk→cn and tw→cn, normalisation and conversion stages).
let produce: Map<string, Set<string>> | undefined;
const sourcesMemo = new Map<string, readonly string[]>();

function loadProduce(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  type Config = { normalizationChain?: readonly (readonly unknown[])[]; conversionChain: readonly (readonly unknown[])[] };
  const configs = OpenCC.Locale.configs as unknown as Record<string, Config>;
  // An entry rewrites its key only where the whole key occurs, so ONE character of the key is a
  // sound source for each character it writes: the aligned one when key and replacement have the
  // same length (most entries: 乾淨 → 干净), else the first. A written character the key already
  // holds needs none (the text has it). Naming every key character instead would make common
  // characters sources of everything through phrase entries, and the test useless.
  const add = (key: string, value: string) => {
    const k = [...key];
    const v = [...value];
    for (let i = 0; i < v.length; i++) {
      const out = v[i];
      if (k.includes(out)) continue;
      let set = edges.get(out);
      if (!set) edges.set(out, (set = new Set()));
      set.add(k.length === v.length ? k[i] : k[0]);
    }
  };
  for (const name of ['hk2s', 'tw2s']) {
    const cfg = configs[name];
    if (!cfg) throw new Error(`opencc-js has no ${name} configuration: the conversion tables changed, check toSimplifiedChinese`);
    for (const group of [...(cfg.normalizationChain ?? []), ...cfg.conversionChain]) {
      for (const dict of group) {
        if (typeof dict === 'string') {
          for (const entry of dict.split('|')) {
            const sp = entry.indexOf(' ');
            if (sp > 0) add(entry.slice(0, sp), entry.slice(sp + 1));
          }
        } else for (const [k, v] of dict as readonly (readonly [string, string])[]) add(k, v);
      }
    }
  }
  return edges;
}

/**
 * The characters other than `c` whose presence in a text lets toSimplifiedChinese(text) contain
 * `c` — for every table entry that writes `c`, a character its key needs, followed back through
 * the chained stages (context is ignored, so more than the converter would ever need). A text holding neither `c` nor any of
 * these converts to one without `c`; exact matching uses that to skip converting passages that
 * cannot contain a phrase (analyzer.test.ts checks it against the converter).
 */
export function conversionSources(c: string): readonly string[] {
  let out = sourcesMemo.get(c);
  if (out) return out;
  produce ??= loadProduce();
  const seen = new Set<string>([c]);
  const frontier = [c];
  while (frontier.length > 0) {
    for (const src of produce.get(frontier.pop()!) ?? []) {
      if (!seen.has(src)) {
        seen.add(src);
        frontier.push(src);
      }
    }
  }
  seen.delete(c);
  sourcesMemo.set(c, (out = [...seen]));
  return out;
}

const HAN = /\p{Script=Han}/u;
// A Han run, or a run of other (non-Han) letters/digits/marks: "1949年" → "1949", "年".
const TOKEN = /(\p{Script=Han}+)|((?:(?!\p{Script=Han})[\p{L}\p{N}\p{M}])+)/gu;
const TERM_SAFE = /^[\p{L}\p{N}\p{M}]+$/u;
const LATIN_WITH_DIACRITICS = /[\u00c0-\u024f\u1e00-\u1eff]/;
const ASCII_WORD = /^[a-z]+$/;

/**
 * Longest word handed to the stemmer. wink-porter2-stemmer's suffix regexes backtrack
 * quadratically (8k letters ≈ 1 s, 60k ≈ 45 s of blocked event loop); the longest English
 * words are ~45 letters, so a longer run of letters is an identifier, a hash or an attack and is
 * kept as it is. Fixed, not configurable: index and query must apply the same rule, and every
 * word up to this length is stemmed exactly as before, so existing indexes keep matching.
 */
export const MAX_STEM_CHARS = 64;

function englishTerm(word: string): string | null {
  let w = word;
  if (LATIN_WITH_DIACRITICS.test(w)) w = w.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');
  if (options.englishStopwords && ENGLISH_STOPWORDS.has(w)) return null;
  return options.stem && w.length <= MAX_STEM_CHARS && ASCII_WORD.test(w) ? stem(w) : w;
}

export interface AnalyzeOptions {
  /** Stop after this many terms (queries: bounds analysis and the term lookups that follow). */
  maxTerms?: number;
}

/**
 * Analysis choices measured in BENCHMARKS.md ("Analysis choices"). The product always runs
 * ANALYZER_DEFAULTS; `setAnalyzerOptions` exists for the experiments in bench/analysis.ts only
 * (index and queries must be analysed alike, so it is process-wide).
 */
export interface AnalyzerOptions {
  /** jieba's HMM guesses words its dictionary lacks; off, such spans fall apart into characters. */
  hmm: boolean;
  /** Also index bigrams of adjacent single-character jieba tokens (words jieba does not know). */
  oovBigrams: boolean;
  /** Title terms are indexed this many times (BM25 title weighting in a single-field index). */
  titleWeight: number;
  /** Porter2-stem English words. */
  stem: boolean;
  /** Drop English stopwords. */
  englishStopwords: boolean;
}

export const ANALYZER_DEFAULTS: Readonly<AnalyzerOptions> = { hmm: false, oovBigrams: false, titleWeight: 1, stem: true, englishStopwords: true };

/**
 * Changes whenever analysis output changes: part of the ingest pipeline's settings fingerprint,
 * so the next ingest re-analyses every document instead of mixing old and new terms.
 */
export const ANALYZER_VERSION = 'a2-hmm-off';

let options: AnalyzerOptions = { ...ANALYZER_DEFAULTS };

/** Experiments only (bench/analysis.ts): analysis options for this process; returns the previous ones. */
export function setAnalyzerOptions(next: Partial<AnalyzerOptions>): AnalyzerOptions {
  const prev = options;
  options = { ...options, ...next };
  return prev;
}

function chineseTerms(run: string, terms: string[]): void {
  const words = jieba().cutForSearch(run, options.hmm);
  let prevSingle: string | null = null;
  for (const word of words) {
    if (!CHINESE_STOPWORDS.has(word) && TERM_SAFE.test(word)) terms.push(word);
    if (!options.oovBigrams) continue;
    // A run of single characters is a span the dictionary does not know (names, new terms):
    // their bigrams approximate the unknown word without guessing its boundaries.
    const single = [...word].length === 1 ? word : null;
    if (single && prevSingle) terms.push(prevSingle + single);
    prevSingle = single;
  }
}

/** Analysed terms of a text, in order, duplicates kept (BM25 needs term frequencies). */
export function analyze(text: string, opts: AnalyzeOptions = {}): string[] {
  if (!text) return [];
  const max = opts.maxTerms ?? Infinity;
  let s = text.normalize('NFKC').toLowerCase();
  if (HAN.test(s)) s = toSimplifiedChinese(s);
  const terms: string[] = [];
  for (const m of s.matchAll(TOKEN)) {
    if (m[1] !== undefined) {
      chineseTerms(m[1], terms);
    } else {
      const term = englishTerm(m[2]!);
      if (term && TERM_SAFE.test(term)) terms.push(term);
    }
    if (terms.length >= max) return terms.slice(0, max);
  }
  return terms;
}

/**
 * Loads jieba's dictionary and the OpenCC tables now (~0.8 s of blocking work) rather than in the
 * first request that contains Chinese, which would otherwise stall every other request meanwhile.
 */
export function warmUpAnalyzer(): void {
  analyze('預熱中文分詞');
}

/** Terms joined by single spaces: the value stored in chunks_fts.terms. */
export function analyzeForFts(text: string): string {
  return analyze(text).join(' ');
}

/** The BM25 terms of a chunk: its document title (weighted by repetition) and its text. */
export function indexTerms(title: string, text: string): string {
  const t = title ? `${title}\n`.repeat(Math.max(1, options.titleWeight)) : '';
  return analyzeForFts(`${t}${text}`);
}

/**
 * FTS5 MATCH expression for a query: OR of the unique analysed terms, each double-quoted
 * (quotes escaped by doubling), so FTS5 operators or punctuation in user input can never cause
 * a syntax error. Empty string when the query has no terms (callers skip the lexical leg).
 */
export function ftsQuery(text: string, opts: AnalyzeOptions = {}): string {
  const unique = [...new Set(analyze(text, opts))];
  return unique.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
}

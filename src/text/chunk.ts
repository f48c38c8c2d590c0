import { splitParagraphs, splitSentences } from './sentences.ts';
import type { TokenCounter } from './tokens-types.ts';

export interface ChunkOptions {
  /** Sentences are packed greedily up to this many tokens per chunk (embedText included). */
  target_tokens: number;
  /** Hard maximum per chunk; a sentence longer than this is split on words/characters. */
  max_tokens: number;
  /** Whole trailing sentences of a chunk, up to this many tokens, are repeated at the start of the next. */
  overlap_tokens: number;
  /** Prefix the embedding text with the document title. */
  title_prefix: boolean;
}

export interface Chunk {
  /** 0-based position in the document. */
  ordinal: number;
  /** Exactly body.slice(start, end). */
  text: string;
  /** Text given to the embedding model: `${title}\n${text}` when title_prefix and a title exist. */
  embedText: string;
  start: number;
  end: number;
  /** Token count of embedText. */
  tokens: number;
}

/** A packing unit: a sentence, or a piece of an over-long sentence. */
interface Unit {
  start: number;
  end: number;
  tokens: number;
  paragraph: number;
}

/** Soft break characters for splitting an over-long sentence (after whitespace). */
const SOFT_BREAK = /[\s,，、:：\-—–/|)]/;
/** When a paragraph boundary is reached and the next paragraph doesn't fit, end the chunk if it is at least this full. */
const PARAGRAPH_BREAK_FILL = 0.5;
/** Upper bound on characters per token, used to bound the long-sentence search window. */
const MAX_CHARS_PER_TOKEN = 32;
/** The title prefix may take at most this share of max_tokens; longer titles are shortened in embedText. */
const MAX_TITLE_SHARE = 0.25;

function validate(opts: ChunkOptions): void {
  const { target_tokens: target, max_tokens: max, overlap_tokens: overlap } = opts;
  if (!Number.isInteger(target) || target < 1) throw new Error(`chunking.target_tokens must be a positive integer, got ${target}`);
  if (!Number.isInteger(max) || max < target) throw new Error(`chunking.max_tokens (${max}) must be an integer ≥ target_tokens (${target})`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= target) {
    throw new Error(`chunking.overlap_tokens (${overlap}) must be an integer in [0, target_tokens)`);
  }
}

/** Longest prefix of the title (in code points) whose "prefix\n" costs at most `budget` tokens. */
function fitTitle(title: string, budget: number, counter: TokenCounter): string {
  if (counter.count(`${title}\n`) <= budget) return title;
  const chars = Array.from(title);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (counter.count(`${chars.slice(0, mid).join('')}\n`) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return chars.slice(0, lo).join('').trimEnd();
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Splits an over-long sentence into pieces of at most `budget` tokens, cutting after whitespace
 * or a soft punctuation mark in the second half of the piece when there is one (so English is
 * cut between words), else between characters (CJK, URLs).
 */
function splitLongSentence(body: string, start: number, end: number, budget: number, paragraph: number, counter: TokenCounter): Unit[] {
  const units: Unit[] = [];
  // Search window: a piece never needs more characters than this, which keeps splitting a huge
  // unpunctuated text linear instead of quadratic. A tokenizer packing more characters per token
  // only gets shorter pieces, never over-long ones.
  const window = budget * MAX_CHARS_PER_TOKEN;
  let pos = start;
  while (pos < end) {
    if (end - pos <= window) {
      const restTokens = counter.count(body.slice(pos, end));
      if (restTokens <= budget) {
        units.push({ start: pos, end, tokens: restTokens, paragraph });
        break;
      }
    }
    // Binary search the longest prefix that fits (token counts grow with length).
    let lo = pos + 1;
    let hi = Math.min(end, pos + window);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (counter.count(body.slice(pos, mid)) <= budget) lo = mid;
      else hi = mid - 1;
    }
    let cut = lo;
    if (cut < end && isHighSurrogate(body.charCodeAt(cut - 1))) cut = cut - 1 > pos ? cut - 1 : cut + 1;
    const minCut = pos + Math.floor((cut - pos) / 2);
    for (let i = cut; i > minCut; i--) {
      if (SOFT_BREAK.test(body[i - 1]!)) {
        cut = i;
        break;
      }
    }
    let pieceEnd = cut;
    while (pieceEnd > pos && /\s/.test(body[pieceEnd - 1]!)) pieceEnd--;
    units.push({ start: pos, end: pieceEnd, tokens: counter.count(body.slice(pos, pieceEnd)), paragraph });
    pos = cut;
    while (pos < end && /\s/.test(body[pos]!)) pos++;
  }
  return units;
}

function buildUnits(body: string, maxBodyTokens: number, pieceBudget: number, counter: TokenCounter): Unit[] {
  const units: Unit[] = [];
  splitParagraphs(body).forEach((para, paragraph) => {
    for (const s of splitSentences(body, para.start, para.end)) {
      const tokens = counter.count(body.slice(s.start, s.end));
      if (tokens <= maxBodyTokens) units.push({ start: s.start, end: s.end, tokens, paragraph });
      else units.push(...splitLongSentence(body, s.start, s.end, pieceBudget, paragraph, counter));
    }
  });
  return units;
}


/**
 * Structure-aware chunking: paragraphs → sentences, packed greedily up to target_tokens,
 * preferring to end a chunk at a paragraph boundary, with whole-sentence overlap. Chunk text is
 * always an exact slice of the body (offsets are stable for highlighting and citations).
 * Returns [] for a body without text.
 */
export function chunkDocument(doc: { title: string; body: string }, opts: ChunkOptions, counter: TokenCounter): Chunk[] {
  validate(opts);
  const body = doc.body ?? '';
  const rawTitle = opts.title_prefix ? (doc.title ?? '').replace(/\s+/g, ' ').trim() : '';
  const title = rawTitle ? fitTitle(rawTitle, Math.max(1, Math.floor(opts.max_tokens * MAX_TITLE_SHARE)), counter) : '';
  const prefix = title ? `${title}\n` : '';
  const titleTokens = prefix ? counter.count(prefix) : 0;
  const maxBody = Math.max(1, opts.max_tokens - titleTokens);
  const targetBody = Math.max(1, Math.min(maxBody, opts.target_tokens - titleTokens));

  const units = buildUnits(body, maxBody, targetBody, counter);
  const paragraphTokens = new Map<number, number>();
  for (const u of units) paragraphTokens.set(u.paragraph, (paragraphTokens.get(u.paragraph) ?? 0) + u.tokens);

  const chunks: Chunk[] = [];
  let prev: Unit[] = [];
  let idx = 0;
  while (idx < units.length) {
    // Overlap: whole trailing sentences of the previous chunk (never all of it).
    const carry: Unit[] = [];
    let carryTokens = 0;
    for (let j = prev.length - 1; j >= 1; j--) {
      if (carryTokens + prev[j]!.tokens > opts.overlap_tokens) break;
      carry.unshift(prev[j]!);
      carryTokens += prev[j]!.tokens;
    }
    const first = units[idx]!;
    while (carry.length > 0 && carryTokens + first.tokens > maxBody) carryTokens -= carry.shift()!.tokens;

    const fresh: Unit[] = [first];
    let tokens = carryTokens + first.tokens;
    let next = idx + 1;
    while (next < units.length) {
      const u = units[next]!;
      if (u.paragraph !== units[next - 1]!.paragraph) {
        const wholeParagraphFits = tokens + paragraphTokens.get(u.paragraph)! <= targetBody;
        if (!wholeParagraphFits && tokens >= targetBody * PARAGRAPH_BREAK_FILL) break;
      }
      if (tokens + u.tokens > targetBody) break;
      fresh.push(u);
      tokens += u.tokens;
      next++;
    }

    // Token counts of a real tokenizer are not exactly additive: verify the assembled chunk and
    // shed overlap first, then trailing sentences, until it fits max_tokens.
    let chunk = assemble(body, prefix, [...carry, ...fresh], counter);
    while (chunk.tokens > opts.max_tokens && carry.length + fresh.length > 1) {
      if (carry.length > 0) carry.shift();
      else fresh.pop();
      chunk = assemble(body, prefix, [...carry, ...fresh], counter);
    }
    chunks.push({ ordinal: chunks.length, ...chunk });
    idx += fresh.length;
    prev = [...carry, ...fresh];
  }
  return chunks;
}

function assemble(body: string, prefix: string, units: Unit[], counter: TokenCounter): Omit<Chunk, 'ordinal'> {
  const start = units[0]!.start;
  const end = units[units.length - 1]!.end;
  const text = body.slice(start, end);
  const embedText = prefix + text;
  return { text, embedText, start, end, tokens: counter.count(embedText) };
}


import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { BLOCK_SIZE, Bm25FileError, SectionReader, getVarints } from './format.ts';
import { bm25Idf, bm25Norm } from './scoring.ts';

// One loaded BM25 index version and its exact top-k search.
//
// Algorithm: document-at-a-time MaxScore (Turtle & Flood 1995) with block-max bounds (Ding &
// Suel 2011; the "block-max MaxScore" variant of Mallia et al. 2019). Query terms are ordered by
// their maximum score; the longest prefix whose summed maxima cannot reach the current k-th score
// θ is "non-essential": its lists are only probed (skipping whole blocks) for documents found in
// the essential lists. Before scoring a candidate, the sum of the essential lists' current block
// maxima + the non-essential maxima bounds every document up to the nearest block end; when it
// is below θ the whole range is skipped. All bounds are true upper bounds (block_max is the max of
// the very scores computed here) and a document is dropped only when its bound is strictly below
// θ minus a float-rounding margin, so the result is exactly the exhaustive top-k.
//
// Determinism: the final score of a document is summed in query-term order (the order FTS5 uses),
// and ties are broken by chunk id ascending (docs are numbered in chunk id order).
//
// Memory: the file stores postings varint-compressed; a loaded segment holds them decoded in flat
// arrays (doc i32 + tf u8 per posting, see pDoc) — ≈ 2× the file — because decoding blocks at
// query time was ≈ 40% of a search (1M chunks: 1.27× faster searches, same results;
// BENCHMARKS.md "BM25 leg at scale"). segmentMemoryBytes estimates it for worker sizing.

export interface SearchHit {
  chunkId: number;
  score: number;
}

export interface SearchCounters {
  /** Postings in the blocks the search entered (blocks entered × their size): the postings a block decoder would decode. */
  postings: number;
  /** Documents fully scored. */
  scored: number;
  /** Postings of the query's terms (what an exhaustive scorer visits). */
  candidates: number;
}

export interface SearchOptions {
  /** Document (not row) predicate: filters and ACL over this file's columns. */
  allowed?: ((doc: number) => boolean) | null;
  /**
   * 1 = never a candidate: deleted since the version was built (the live-docs set), or — when the
   * leg has materialised a recurring filter — not allowed by it. Checked before `allowed`.
   */
  blocked?: Uint8Array | null;
  counters?: SearchCounters;
}

const NONE = 0x7fffffff;
/** pTf value meaning "look the tf up in bigTf" (a tf this large is rare: long repetitive chunks). */
const TF_ESCAPE = 255;
/** Postings decoded between two yields of Bm25Segment.open (≈ 2–5 ms of work). */
const POSTINGS_SLICE = 200_000;

class Cursor {
  /** The segment's postings (absolute doc ids and tfs, see Bm25Segment). */
  private readonly pDoc: Int32Array;
  private readonly pTf: Uint8Array;
  /** Current block (shallow position: may be ahead of the entered one for non-essential lists). */
  block: number;
  /** The block whose postings the cursor is in (-1: none yet). */
  entered = -1;
  /** Index in pDoc of the entered block's first posting. */
  private start = 0;
  pos = 0;
  len = 0;
  doc = -1;
  readonly first: number;
  readonly end: number;

  constructor(
    private readonly seg: Bm25Segment,
    readonly term: number,
    /** Position of the term in the query (canonical summation order). */
    readonly qi: number,
    readonly idf: number,
    readonly max: number,
    private readonly counters: SearchCounters,
  ) {
    this.pDoc = seg.pDoc;
    this.pTf = seg.pTf;
    this.first = seg.termBlock[term];
    this.end = this.first + Math.ceil(seg.termDf[term] / BLOCK_SIZE);
    this.block = this.first;
    this.enter();
  }

  /** Enters the current block: nothing to decode, the postings are flat arrays. */
  private enter(): void {
    const seg = this.seg;
    const b = this.block;
    this.start = seg.blockStart[b];
    this.len = b === this.end - 1 ? seg.termDf[this.term] - (b - this.first) * BLOCK_SIZE : BLOCK_SIZE;
    this.entered = b;
    this.pos = 0;
    this.doc = this.pDoc[this.start];
    this.counters.postings += this.len;
  }

  next(): void {
    if (++this.pos < this.len) this.doc = this.pDoc[this.start + this.pos];
    else if (++this.block < this.end) this.enter();
    else this.doc = NONE;
  }

  /** Moves the block pointer to the block that may hold `target` (no decoding). False when past the end. */
  shallow(target: number): boolean {
    const last = this.seg.blockLast;
    while (this.block < this.end && last[this.block] < target) this.block++;
    return this.block < this.end;
  }

  /** Positions on the first posting ≥ target. */
  advance(target: number): void {
    if (this.doc >= target && this.entered === this.block) return;
    if (!this.shallow(target)) {
      this.doc = NONE;
      return;
    }
    if (this.entered !== this.block) this.enter();
    const d = this.pDoc;
    let i = this.start + this.pos;
    while (d[i] < target) i++; // the block's last doc is ≥ target
    this.pos = i - this.start;
    this.doc = d[i];
  }

  get tf(): number {
    const i = this.start + this.pos;
    const v = this.pTf[i];
    return v < TF_ESCAPE ? v : this.seg.bigTf.get(i)!;
  }
}

/** Min-heap of the current top-k by (score asc, doc desc): the root is the worst kept hit. */
class TopK {
  readonly scores: Float64Array;
  readonly docs: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.docs = new Int32Array(k);
  }
  private worse(i: number, j: number): boolean {
    const a = this.scores[i];
    const b = this.scores[j];
    return a < b || (a === b && this.docs[i] > this.docs[j]);
  }
  private swap(i: number, j: number): void {
    const s = this.scores[i];
    this.scores[i] = this.scores[j];
    this.scores[j] = s;
    const d = this.docs[i];
    this.docs[i] = this.docs[j];
    this.docs[j] = d;
  }
  get full(): boolean {
    return this.size === this.k;
  }
  /** Offers a hit; docs arrive in ascending order, so an equal score never displaces a kept hit. */
  offer(doc: number, score: number): void {
    if (this.size < this.k) {
      let i = this.size++;
      this.scores[i] = score;
      this.docs[i] = doc;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return;
    }
    if (!(score > this.scores[0])) return;
    this.scores[0] = score;
    this.docs[0] = doc;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (r < this.size && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
  get threshold(): number {
    return this.scores[0];
  }
}

/** Bytes a loaded segment of this many chunks and postings holds (the decoded postings dominate). */
export function segmentMemoryBytes(v: { docs: number; postings: number }): number {
  // Per posting: doc i32 + tf u8; per block (≤ postings/64 + one per term, counted generously):
  // last doc, start, max; per chunk: chunk id, length, row, norm (+ ≤ 1 row's filter columns).
  return v.postings * 5 + Math.ceil(v.postings / 32) * 16 + v.docs * 48;
}

export class Bm25Segment {
  readonly docs: number;
  readonly avgdl: number;
  readonly k1: number;
  readonly b: number;
  readonly totalTokens: number;
  readonly postingsCount: number;
  /**
   * The postings, decoded once at load into flat arrays: absolute doc number and tf per posting;
   * block b's postings start at blockStart[b] (BLOCK_SIZE of them, fewer in a term's last block).
   * The file keeps them varint-compressed (≈ 2.9 bytes a posting); decoding them per block at
   * query time was ≈ 40% of a search at 1M chunks, so the served copy spends ≈ 5 bytes a posting
   * instead (doc i32 + tf u8, tfs ≥ 255 in bigTf) and a search reads them in place.
   */
  readonly pDoc: Int32Array;
  readonly pTf: Uint8Array;
  readonly bigTf = new Map<number, number>();
  readonly blockStart: Uint32Array;
  readonly blockLast: Uint32Array;
  readonly blockMax: Float64Array;
  readonly termDf: Uint32Array;
  readonly termBlock: Uint32Array;
  readonly termMax: Float64Array;
  readonly terms: string[];
  readonly docChunk: Float64Array;
  readonly docLen: Uint32Array;
  readonly docRow: Uint32Array;
  readonly norm: Float64Array;
  readonly rowKind: Uint8Array;
  readonly rowPublished: Float64Array;
  readonly rowSource: Uint32Array;
  readonly rowTagOffset: Uint32Array;
  readonly rowTag: Uint32Array;
  readonly rowAclOffset: Uint32Array;
  readonly rowAcl: Uint32Array;
  readonly sources: string[];
  readonly tags: string[];
  readonly groups: string[];
  readonly meta: Record<string, unknown>;

  /**
   * Loads a version file: all at once (the default), or — `deferPostings`, used by open() — with
   * the postings still to decode through `postingsLoad`, which must run to its end before a search.
   */
  constructor(buf: Buffer, file = '<buffer>', opts: { deferPostings?: boolean; slice?: number } = {}) {
    const r = new SectionReader(buf, file);
    const m = r.footer.meta;
    this.meta = m;
    this.docs = num(m.docs, 'docs', file);
    this.totalTokens = num(m.total_tokens, 'total_tokens', file);
    this.postingsCount = num(m.postings, 'postings', file);
    this.k1 = num(m.k1, 'k1', file);
    this.b = num(m.b, 'b', file);
    if (m.block_size !== BLOCK_SIZE) throw new Bm25FileError(file, `block size ${String(m.block_size)} (expected ${BLOCK_SIZE})`);
    this.avgdl = this.docs > 0 ? this.totalTokens / this.docs : 0;
    // Every array is copied out of the file's buffer, so the buffer (mostly compressed postings)
    // is garbage once the postings are decoded (at the end of the constructor, or of open()).
    this.blockLast = r.u32('block_last').slice();
    this.blockMax = r.f64('block_max').slice();
    this.termDf = r.u32('term_df').slice();
    this.termBlock = r.u32('term_block').slice();
    this.termMax = r.f64('term_max').slice();
    const textOff = r.u32('term_text_offset');
    const text = r.bytes('term_text');
    const T = this.termDf.length;
    if (textOff.length !== T + 1 || this.termBlock.length !== T || this.termMax.length !== T) throw new Bm25FileError(file, 'term table sizes disagree');
    const decoder = new TextDecoder();
    this.terms = new Array<string>(T);
    for (let i = 0; i < T; i++) this.terms[i] = decoder.decode(text.subarray(textOff[i], textOff[i + 1]));
    this.docChunk = r.f64('doc_chunk').slice();
    this.docLen = r.u32('doc_len').slice();
    this.docRow = r.u32('doc_row').slice();
    if (this.docChunk.length !== this.docs || this.docLen.length !== this.docs || this.docRow.length !== this.docs) throw new Bm25FileError(file, 'document columns disagree');
    this.rowKind = r.u8('row_kind').slice();
    this.rowPublished = r.f64('row_published').slice();
    this.rowSource = r.u32('row_source').slice();
    this.rowTagOffset = r.u32('row_tag_offset').slice();
    this.rowTag = r.u32('row_tag').slice();
    this.rowAclOffset = r.u32('row_acl_offset').slice();
    this.rowAcl = r.u32('row_acl').slice();
    this.sources = strings(m.sources, 'sources', file);
    this.tags = strings(m.tags, 'tags', file);
    this.groups = strings(m.groups, 'groups', file);
    const blocks = this.blockLast.length;
    const blockOffset = r.u32('block_offset');
    if (blockOffset.length !== blocks || this.blockMax.length !== blocks) throw new Bm25FileError(file, 'block table sizes disagree');
    this.pDoc = new Int32Array(this.postingsCount);
    this.pTf = new Uint8Array(this.postingsCount);
    this.blockStart = new Uint32Array(blocks);
    const load = this.decodePostings(r.bytes('postings'), blockOffset, file, opts.slice ?? POSTINGS_SLICE);
    if (opts.deferPostings) this.postingsLoad = load;
    else for (const _ of load);
    const params = { k1: this.k1, b: this.b };
    this.norm = new Float64Array(this.docs);
    for (let d = 0; d < this.docs; d++) this.norm[d] = bm25Norm(this.docLen[d], this.avgdl, params);
  }

  /** The postings decoding open() runs in slices (null once the segment is complete). */
  postingsLoad: Generator<void, void> | null = null;

  /**
   * Loads a version file without holding the event loop for the whole decoding (≈ 1 s per 55M
   * postings): it lets other work run after about every `slice` postings. Servers load new
   * versions this way while the previous one keeps answering.
   */
  static async open(buf: Buffer, file: string, slice = POSTINGS_SLICE): Promise<Bm25Segment> {
    const seg = new Bm25Segment(buf, file, { deferPostings: true, slice });
    for (const _ of seg.postingsLoad!) await yieldToEventLoop();
    seg.postingsLoad = null;
    return seg;
  }

  /**
   * Decodes every block (doc deltas, then tfs) into pDoc / pTf, term by term, yielding after
   * about every `slice` postings (whole terms); checks the counts against the footer.
   */
  private *decodePostings(bytes: Uint8Array, blockOffset: Uint32Array, file: string, slice: number): Generator<void, void> {
    const { pDoc, pTf, blockStart } = this;
    const blocks = this.blockLast.length;
    const tfs = new Int32Array(BLOCK_SIZE);
    let at = 0;
    let sliceEnd = slice;
    for (let t = 0; t < this.termDf.length; t++) {
      const df = this.termDf[t];
      const first = this.termBlock[t];
      const nb = Math.ceil(df / BLOCK_SIZE);
      if (first + nb > blocks || at + df > this.postingsCount) throw new Bm25FileError(file, `term ${t}'s blocks are out of bounds`);
      let doc = -1;
      for (let b = first; b < first + nb; b++) {
        const count = b === first + nb - 1 ? df - (b - first) * BLOCK_SIZE : BLOCK_SIZE;
        blockStart[b] = at;
        // Doc deltas (from the previous block's last doc), then tfs.
        const pos = getVarints(bytes, blockOffset[b], count, pDoc, at);
        for (let i = at; i < at + count; i++) pDoc[i] = doc += pDoc[i];
        if (doc !== this.blockLast[b]) throw new Bm25FileError(file, `block ${b} does not end at its recorded last document`);
        getVarints(bytes, pos, count, tfs);
        for (let i = 0; i < count; i++) {
          const tf = tfs[i];
          if (tf < TF_ESCAPE) pTf[at + i] = tf;
          else {
            pTf[at + i] = TF_ESCAPE;
            this.bigTf.set(at + i, tf);
          }
        }
        at += count;
      }
      if (at >= sliceEnd) {
        sliceEnd = at + slice;
        yield;
      }
    }
    if (at !== this.postingsCount) throw new Bm25FileError(file, `holds ${at} postings, the footer says ${this.postingsCount}`);
  }

  /** Index of a term in the sorted dictionary, -1 when absent. */
  termIndex(term: string): number {
    let lo = 0;
    let hi = this.terms.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.terms[mid];
      if (t === term) return mid;
      if (t < term) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Documents holding the term (0 when absent). */
  df(term: string): number {
    const i = this.termIndex(term);
    return i < 0 ? 0 : this.termDf[i];
  }

  /** Doc number of a chunk id, -1 when the chunk is not in this file. */
  docOf(chunkId: number): number {
    let lo = 0;
    let hi = this.docs - 1;
    const ids = this.docChunk;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid];
      if (v === chunkId) return mid;
      if (v < chunkId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Exact BM25 top-k of the documents holding any of `terms` (OR semantics, duplicates ignored,
   * unknown terms match nothing), ranked by score desc then chunk id asc.
   */
  search(terms: readonly string[], k: number, opts: SearchOptions = {}): SearchHit[] {
    if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
    const counters = opts.counters ?? { postings: 0, scored: 0, candidates: 0 };
    const seen = new Set<string>();
    const cursors: Cursor[] = [];
    for (const term of terms) {
      if (seen.has(term)) continue;
      seen.add(term);
      const t = this.termIndex(term);
      if (t < 0) continue;
      counters.candidates += this.termDf[t];
      cursors.push(new Cursor(this, t, cursors.length, bm25Idf(this.docs, this.termDf[t]), this.termMax[t], counters));
    }
    if (cursors.length === 0 || k === 0) return [];
    const n = cursors.length;
    const idfs = Float64Array.from(cursors, (c) => c.idf);
    const order = [...cursors].sort((a, b) => a.max - b.max || a.qi - b.qi);
    // upTo[i] = Σ max of order[0..i]: the best score of a doc found only in those lists.
    const upTo = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) upTo[i] = acc += order[i].max;
    const tfAt = new Float64Array(n);
    // Query positions set in tfAt for the current doc: cleared one by one, not with a fill per doc
    // (most visited docs are pruned after one or two lists).
    const touched = new Int32Array(n);
    let touchedN = 0;
    const blockUpTo = new Float64Array(n);
    const heap = new TopK(k);
    // bm25Term (scoring.ts) written out: the same operations, without a call per posting.
    const k1p1 = this.k1 + 1;
    const norm = this.norm;
    const blockMax = this.blockMax;
    const blockLast = this.blockLast;
    const { allowed, blocked } = opts;
    let theta = -Infinity; // k-th score minus the rounding margin, once k hits are held
    let firstEssential = 0;
    let boundUntil = -1;
    let boundValue = 0;
    let boundEssential = -1;
    let essentialBlocks = 0;
    let nonEssentialUntil = -1;
    let nonEssentialFor = -1;

    for (;;) {
      let doc = NONE;
      for (let i = firstEssential; i < n; i++) if (order[i].doc < doc) doc = order[i].doc;
      if (doc === NONE) break;

      if (heap.full) {
        // Block-max skip: bound every doc up to the nearest end of an essential list's block.
        // The bound holds until that doc (no essential list leaves its block before), so it is
        // recomputed only past it or when the essential set changes.
        if (doc > boundUntil || boundEssential !== firstEssential) {
          let sum = 0;
          let until = NONE;
          for (let i = firstEssential; i < n; i++) {
            const c = order[i];
            if (c.doc === NONE) continue;
            sum += blockMax[c.block];
            if (blockLast[c.block] < until) until = blockLast[c.block];
          }
          essentialBlocks = sum;
          boundValue = (firstEssential > 0 ? upTo[firstEssential - 1] : 0) + sum;
          boundUntil = until;
          boundEssential = firstEssential;
        }
        if (boundValue < theta) {
          for (let i = firstEssential; i < n; i++) order[i].advance(boundUntil + 1);
          continue;
        }
        // Tighter: the non-essential lists' block maxima instead of their term maxima, while
        // their cached blocks still cover this doc.
        if (firstEssential > 0 && nonEssentialFor === firstEssential && doc <= nonEssentialUntil && essentialBlocks + blockUpTo[firstEssential - 1] < theta) {
          const to = (boundUntil < nonEssentialUntil ? boundUntil : nonEssentialUntil) + 1;
          for (let i = firstEssential; i < n; i++) order[i].advance(to);
          continue;
        }
      }

      if ((blocked && blocked[doc]) || (allowed && !allowed(doc))) {
        for (let i = firstEssential; i < n; i++) if (order[i].doc === doc) order[i].next();
        continue;
      }

      let partial = 0;
      const nd = norm[doc];
      for (let i = firstEssential; i < n; i++) {
        const c = order[i];
        if (c.doc !== doc) continue;
        const tf = c.tf;
        tfAt[c.qi] = tf;
        touched[touchedN++] = c.qi;
        partial += c.idf * ((tf * k1p1) / (tf + nd));
        c.next();
      }
      let pruned = false;
      if (firstEssential > 0 && heap.full) {
        // Non-essential lists: bound with the term maxima, then with the maxima of the blocks that
        // may hold this doc (found by moving block pointers only, no block entered), then probe
        // from the strongest list down while the remaining bound can still reach θ.
        if (partial + upTo[firstEssential - 1] < theta) pruned = true;
        else {
          // The non-essential block maxima hold for every doc up to the nearest end of one of
          // those blocks: recomputed only past it or when the essential set changes.
          if (doc > nonEssentialUntil || nonEssentialFor !== firstEssential) {
            let sum = 0;
            let until = NONE;
            for (let i = 0; i < firstEssential; i++) {
              const c = order[i];
              if (c.shallow(doc)) {
                sum += blockMax[c.block];
                if (blockLast[c.block] < until) until = blockLast[c.block];
              }
              blockUpTo[i] = sum;
            }
            nonEssentialUntil = until;
            nonEssentialFor = firstEssential;
          }
          for (let i = firstEssential - 1; i >= 0; i--) {
            if (partial + blockUpTo[i] < theta) {
              pruned = true;
              break;
            }
            const c = order[i];
            if (c.block >= c.end) continue;
            c.advance(doc);
            if (c.doc === doc) {
              const tf = c.tf;
              tfAt[c.qi] = tf;
              touched[touchedN++] = c.qi;
              partial += c.idf * ((tf * k1p1) / (tf + nd));
            }
          }
        }
      } else {
        for (let i = firstEssential - 1; i >= 0; i--) {
          const c = order[i];
          c.advance(doc);
          if (c.doc === doc) {
            const tf = c.tf;
            tfAt[c.qi] = tf;
            touched[touchedN++] = c.qi;
            partial += c.idf * ((tf * k1p1) / (tf + nd));
          }
        }
      }
      if (pruned) {
        while (touchedN > 0) tfAt[touched[--touchedN]] = 0;
        continue;
      }

      // The reported score: summed in query-term order, exactly like FTS5.
      let score = 0;
      for (let q = 0; q < n; q++) if (tfAt[q] > 0) score += idfs[q] * ((tfAt[q] * k1p1) / (tfAt[q] + nd));
      while (touchedN > 0) tfAt[touched[--touchedN]] = 0;
      counters.scored++;
      heap.offer(doc, score);
      if (heap.full) {
        const t = heap.threshold;
        theta = t - 1e-9 * Math.max(1, Math.abs(t));
        while (firstEssential < n && upTo[firstEssential] < theta) firstEssential++;
      }
    }

    const hits: { doc: number; score: number }[] = [];
    for (let i = 0; i < heap.size; i++) hits.push({ doc: heap.docs[i], score: heap.scores[i] });
    hits.sort((a, b) => b.score - a.score || a.doc - b.doc);
    return hits.map((h) => ({ chunkId: this.docChunk[h.doc], score: h.score }));
  }
}

function num(v: unknown, name: string, file: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Bm25FileError(file, `bad ${name} in footer`);
  return v;
}

function strings(v: unknown, name: string, file: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Bm25FileError(file, `bad ${name} in footer`);
  return v as string[];
}

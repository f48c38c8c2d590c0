import fs from 'node:fs';
import path from 'node:path';
import { BLOCK_SIZE, SectionWriter, getVarints, putVarint } from './format.ts';
import { FTS5_BM25, bm25Idf, bm25Norm, bm25Term, type Bm25Params } from './scoring.ts';

// Builds one immutable BM25 index file from chunks streamed in ascending chunk id.
//
// Memory: postings are first appended per term as varint (doc delta, tf) streams — about
// 2-3 bytes per posting, so a 1M-chunk build holds ~250 MB rather than JS arrays of objects —
// then written term by term in sorted order, re-encoded in blocks of BLOCK_SIZE with each
// block's maximum score. Block maxima are computed with the exact scoring function the search
// uses (same inputs, same operations), so they are true upper bounds and pruning is rank-safe.
//
// Sections written (see format.ts for the container):
//   postings            bytes  per block: varint doc deltas (from the previous block's last doc, or -1), then varint tfs
//   block_last          u32    last doc of each block
//   block_offset        u32    byte offset of each block in `postings`
//   block_max           f64    max score of any posting in the block
//   term_df             u32    documents per term (terms sorted by JS string order)
//   term_block          u32    first block of each term (a term has ceil(df / BLOCK_SIZE) blocks)
//   term_max            f64    max score of the term over all its postings
//   term_text_offset    u32    T+1 offsets into term_text
//   term_text           bytes  UTF-8 terms, concatenated
//   doc_chunk           f64    chunk id of each doc (ascending: doc order = chunk id order)
//   doc_len             u32    tokens in the doc (BM25 dl)
//   doc_row             u32    the doc's row in the document columns below
//   row_kind            u8     0 news, 1 comment, 2 post, 255 other
//   row_published       f64    published_at as epoch ms (Date.parse, like the catalog), NaN if unknown
//   row_source          u32    index into meta.sources
//   row_tag_offset      u32    D+1 offsets into row_tag
//   row_tag             u32    tag ids (meta.tags)
//   row_acl_offset      u32    D+1 offsets into row_acl
//   row_acl             u32    ACL group ids (meta.groups)

export const KIND_CODES = ['news', 'comment', 'post'] as const;

export interface BuildRow {
  chunkId: number;
  /** Analysed terms separated by spaces (what the analyzer produced; see src/text/analyzer.ts). */
  terms: string;
  docId: number;
  kind: string;
  publishedAt: string | null;
  source: string;
  /** JSON arrays as stored in `documents`. */
  tags: string;
  aclGroups: string;
}

export interface BuildStats {
  docs: number;
  terms: number;
  postings: number;
  blocks: number;
  totalTokens: number;
  bytes: number;
}

class Dictionary {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }
}

class GrowU32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

class GrowF64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

function parseStringArray(json: string): string[] {
  if (!json || json === '[]') return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? [...new Set(v.filter((x): x is string => typeof x === 'string'))] : [];
  } catch {
    return []; // written by our own ingestion as JSON; same leniency as the catalog
  }
}

export class Bm25Builder {
  private readonly params: Bm25Params;
  // Per-document columns.
  private readonly chunkIds = new GrowF64();
  private readonly docLen = new GrowU32();
  private readonly docRow = new GrowU32();
  // Per-document-row (documents table) columns.
  private readonly rowOf = new Map<number, number>();
  private readonly rowKind = new GrowU32();
  private readonly rowPublished = new GrowF64();
  private readonly rowSource = new GrowU32();
  private readonly rowTags = new GrowU32();
  private readonly rowTagOff = new GrowU32();
  private readonly rowAcl = new GrowU32();
  private readonly rowAclOff = new GrowU32();
  private readonly sources = new Dictionary();
  private readonly tags = new Dictionary();
  private readonly groups = new Dictionary();
  // Per-term postings streams.
  private readonly termIds = new Map<string, number>();
  private termText: string[] = [];
  private streams: Uint8Array[] = [];
  private streamLen = new Int32Array(1024);
  private lastDoc = new Int32Array(1024);
  private df = new Uint32Array(1024);
  private totalTokens = 0;
  private postings = 0;
  private lastChunk = -Infinity;
  private readonly counts = new Map<string, number>();

  constructor(params: Bm25Params = FTS5_BM25) {
    // The file records k1/b and every bound is computed with them: refuse values that would make
    // the scores (or the block maxima pruning relies on) NaN or meaningless.
    if (!(Number.isFinite(params.k1) && params.k1 >= 0 && Number.isFinite(params.b) && params.b >= 0 && params.b <= 1)) {
      throw new Error(`BM25 parameters out of range: k1 ${params.k1} (must be ≥ 0), b ${params.b} (must be in 0..1)`);
    }
    this.params = { k1: params.k1, b: params.b };
    this.rowTagOff.push(0);
    this.rowAclOff.push(0);
  }

  get docs(): number {
    return this.chunkIds.length;
  }

  /** Adds one chunk (ascending chunk id). */
  add(row: BuildRow): void {
    if (!(row.chunkId > this.lastChunk)) throw new Error(`chunks must be added in ascending id order (${row.chunkId} after ${this.lastChunk})`);
    this.lastChunk = row.chunkId;
    const counts = this.counts;
    counts.clear();
    let dl = 0;
    for (const t of row.terms.split(' ')) {
      if (!t) continue;
      dl++;
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    // A chunk without terms has an (empty) FTS5 row too: it counts in N and avgdl, holds no postings.
    const doc = this.chunkIds.length;
    this.chunkIds.push(row.chunkId);
    this.docLen.push(dl);
    this.docRow.push(this.row(row));
    this.totalTokens += dl;
    for (const [term, tf] of counts) this.append(this.termId(term), doc, tf);
  }

  private row(r: BuildRow): number {
    let row = this.rowOf.get(r.docId);
    if (row !== undefined) return row;
    row = this.rowKind.length;
    this.rowOf.set(r.docId, row);
    const kind = (KIND_CODES as readonly string[]).indexOf(r.kind);
    this.rowKind.push(kind < 0 ? 255 : kind);
    this.rowPublished.push(r.publishedAt ? Date.parse(r.publishedAt) : NaN);
    this.rowSource.push(this.sources.id(r.source));
    for (const t of parseStringArray(r.tags)) this.rowTags.push(this.tags.id(t));
    this.rowTagOff.push(this.rowTags.length);
    for (const g of parseStringArray(r.aclGroups)) this.rowAcl.push(this.groups.id(g));
    this.rowAclOff.push(this.rowAcl.length);
    return row;
  }

  private termId(term: string): number {
    let id = this.termIds.get(term);
    if (id !== undefined) return id;
    id = this.termText.length;
    this.termIds.set(term, id);
    this.termText.push(term);
    this.streams.push(new Uint8Array(8));
    if (id === this.df.length) {
      const grow = <T extends Int32Array | Uint32Array>(a: T, C: new (n: number) => T): T => {
        const b = new C(a.length * 2);
        b.set(a);
        return b;
      };
      this.streamLen = grow(this.streamLen, Int32Array);
      this.lastDoc = grow(this.lastDoc, Int32Array);
      this.df = grow(this.df, Uint32Array);
    }
    this.lastDoc[id] = -1;
    return id;
  }

  private append(id: number, doc: number, tf: number): void {
    let s = this.streams[id];
    let len = this.streamLen[id];
    if (len + 10 > s.length) {
      const bigger = new Uint8Array(s.length * 2);
      bigger.set(s.subarray(0, len));
      this.streams[id] = s = bigger;
    }
    len = putVarint(s, len, doc - this.lastDoc[id]);
    len = putVarint(s, len, tf);
    this.streamLen[id] = len;
    this.lastDoc[id] = doc;
    this.df[id]++;
    this.postings++;
  }

  /**
   * Writes the file to `fd` (the caller owns atomicity: temp file, fsync, rename). The builder's
   * postings streams are released as they are written.
   */
  writeTo(fd: number, meta: Record<string, unknown> = {}): BuildStats {
    const { k1, b } = this.params;
    const n = this.chunkIds.length;
    const avgdl = n > 0 ? this.totalTokens / n : 0;
    const docLen = this.docLen.view();
    const norm = new Float64Array(n);
    for (let d = 0; d < n; d++) norm[d] = bm25Norm(docLen[d], avgdl, this.params);

    const T = this.termText.length;
    const order = Array.from({ length: T }, (_, i) => i).sort((x, y) => (this.termText[x] < this.termText[y] ? -1 : this.termText[x] > this.termText[y] ? 1 : 0));
    let blocks = 0;
    for (let t = 0; t < T; t++) blocks += Math.ceil(this.df[t] / BLOCK_SIZE);
    const blockLast = new Uint32Array(blocks);
    const blockOffset = new Uint32Array(blocks);
    const blockMax = new Float64Array(blocks);
    const termDf = new Uint32Array(T);
    const termBlock = new Uint32Array(T);
    const termMax = new Float64Array(T);

    const w = new SectionWriter(fd);
    const postingsStart = w.beginSection('postings');
    const docs = new Int32Array(BLOCK_SIZE);
    const tfs = new Int32Array(BLOCK_SIZE);
    const pair = new Int32Array(2);
    const out = new Uint8Array(BLOCK_SIZE * 10);
    let block = 0;
    for (let i = 0; i < T; i++) {
      const id = order[i];
      const df = this.df[id];
      const idf = bm25Idf(n, df);
      const s = this.streams[id];
      const end = this.streamLen[id];
      termDf[i] = df;
      termBlock[i] = block;
      let pos = 0;
      let doc = -1;
      let tmax = 0;
      while (pos < end) {
        // Decode up to one block of (delta, tf) pairs from the term's stream.
        let count = 0;
        const base = doc;
        let bmax = 0;
        while (count < BLOCK_SIZE && pos < end) {
          pos = getVarints(s, pos, 2, pair); // (doc delta, tf)
          doc += pair[0];
          const tf = pair[1];
          docs[count] = doc;
          tfs[count] = tf;
          const score = bm25Term(idf, tf, norm[doc], k1);
          if (score > bmax) bmax = score;
          count++;
        }
        let o = 0;
        let prev = base;
        for (let j = 0; j < count; j++) {
          o = putVarint(out, o, docs[j] - prev);
          prev = docs[j];
        }
        for (let j = 0; j < count; j++) o = putVarint(out, o, tfs[j]);
        const offset = w.position - postingsStart;
        if (offset > 0xffffffff) throw new Error('BM25 postings exceed 4 GiB: split the index');
        blockOffset[block] = offset;
        blockLast[block] = doc;
        blockMax[block] = bmax;
        if (bmax > tmax) tmax = bmax;
        w.write(out.subarray(0, o));
        block++;
      }
      termMax[i] = tmax;
      this.streams[id] = EMPTY; // release as we go: the build's peak is before this loop
    }
    w.endSection('postings');
    w.section('block_last', 'u32', blockLast);
    w.section('block_offset', 'u32', blockOffset);
    w.section('block_max', 'f64', blockMax);
    w.section('term_df', 'u32', termDf);
    w.section('term_block', 'u32', termBlock);
    w.section('term_max', 'f64', termMax);
    const textOffsets = new Uint32Array(T + 1);
    const encoded: Buffer[] = [];
    let total = 0;
    for (let i = 0; i < T; i++) {
      const bytes = Buffer.from(this.termText[order[i]], 'utf8');
      encoded.push(bytes);
      total += bytes.length;
      textOffsets[i + 1] = total;
    }
    w.section('term_text_offset', 'u32', textOffsets);
    w.section('term_text', 'bytes', Buffer.concat(encoded, total));
    w.section('doc_chunk', 'f64', this.chunkIds.view());
    w.section('doc_len', 'u32', docLen);
    w.section('doc_row', 'u32', this.docRow.view());
    w.section('row_kind', 'u8', Uint8Array.from(this.rowKind.view()));
    w.section('row_published', 'f64', this.rowPublished.view());
    w.section('row_source', 'u32', this.rowSource.view());
    w.section('row_tag_offset', 'u32', this.rowTagOff.view());
    w.section('row_tag', 'u32', this.rowTags.view());
    w.section('row_acl_offset', 'u32', this.rowAclOff.view());
    w.section('row_acl', 'u32', this.rowAcl.view());
    w.finish({
      ...meta,
      docs: n,
      terms: T,
      postings: this.postings,
      blocks,
      total_tokens: this.totalTokens,
      k1,
      b,
      block_size: BLOCK_SIZE,
      sources: this.sources.names,
      tags: this.tags.names,
      groups: this.groups.names,
    });
    return { docs: n, terms: T, postings: this.postings, blocks, totalTokens: this.totalTokens, bytes: w.position };
  }
}

const EMPTY = new Uint8Array(0);

/** Writes `build` to `file` atomically: temp file → fsync → rename → fsync of the directory. */
export function writeFileAtomic(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDirectory(path.dirname(file));
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

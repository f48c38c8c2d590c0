import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { IndexFileError } from './file-format.ts';

// Full integrity scan of an hnswlib index file, in one sequential pass: the SHA-256 of every byte
// (compared with the digest recorded when the file was written) and a structural check of the
// whole graph. hnswlib trusts its file completely: a bad entry point, a neighbour id past the
// last element or a link to a level the neighbour does not have is an out-of-bounds read in
// native code, i.e. a SIGSEGV that kills the process. The checksum catches every change to a
// file written with one; the structural walk is defence in depth for files without one
// (written before migration 006) and guarantees that whatever passes cannot crash the search.
//
// Layout (hnswalg.h saveIndex, native-endian = little-endian on every platform we build for):
//   header (96 bytes): u64 offsetLevel0, maxElements, curElementCount, sizeDataPerElement,
//     labelOffset, offsetData; i32 maxLevel; u32 enterpointNode; u64 maxM, maxM0, M;
//     f64 mult; u64 efConstruction
//   level 0: curElementCount records of sizeDataPerElement bytes:
//     u16 neighbour count, u8 flags (deleted), u8 pad, maxM0 × u32 neighbour ids,
//     dim × f32 vector, u64 label
//   upper levels: per element u32 byte length (= level × (4 + 4·maxM)), then per level
//     u16 count, u16 pad, maxM × u32 neighbour ids

export const HEADER_BYTES = 96;
// Levels are drawn as floor(-ln(U) · 1/ln(M)): above 32 is impossible for any real file.
const MAX_LEVEL = 32;
// Hard ceilings that keep a corrupt header from asking hnswlib for absurd allocations.
const MAX_M = 4096;
const MAX_EF_CONSTRUCTION = 1_000_000;
const CHUNK = 4 << 20;

export interface IndexHeader {
  capacity: number;
  elements: number;
  sizePerElement: number;
  labelOffset: number;
  offsetData: number;
  maxLevel: number;
  enterpoint: number;
  maxM: number;
  maxM0: number;
  m: number;
  mult: number;
  efConstruction: number;
  dim: number;
}

export interface ScanResult {
  header: IndexHeader;
  bytes: number;
  sha256: string;
  /** Live (not deleted) elements. */
  live: number;
}

/** A structural or checksum failure: the file must not be given to hnswlib. */
export class IndexIntegrityError extends IndexFileError {
  constructor(
    file: string,
    readonly problem: string,
  ) {
    super(file, problem);
    this.name = 'IndexIntegrityError';
  }
}

function parseHeader(h: Buffer, file: string, bytes: number): IndexHeader {
  const bad = (why: string): never => {
    throw new IndexIntegrityError(file, `corrupt header: ${why}`);
  };
  const u64 = (off: number): number => {
    const v = h.readBigUInt64LE(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`field at byte ${off} is out of range`);
    return Number(v);
  };
  const offsetLevel0 = u64(0);
  const capacity = u64(8);
  const elements = u64(16);
  const sizePerElement = u64(24);
  const labelOffset = u64(32);
  const offsetData = u64(40);
  const maxLevel = h.readInt32LE(48);
  const enterpoint = h.readUInt32LE(52);
  const maxM = u64(56);
  const maxM0 = u64(64);
  const m = u64(72);
  const mult = h.readDoubleLE(80);
  const efConstruction = u64(88);
  if (offsetLevel0 !== 0) bad(`offsetLevel0 ${offsetLevel0} != 0`);
  if (m < 2 || m > MAX_M || maxM !== m || maxM0 !== 2 * m) bad(`M ${m}, maxM ${maxM}, maxM0 ${maxM0} are inconsistent`);
  if (offsetData !== 4 + 4 * maxM0) bad(`offsetData ${offsetData} does not follow maxM0 ${maxM0}`);
  const dataBytes = labelOffset - offsetData;
  if (labelOffset <= offsetData || dataBytes % 4 !== 0) bad(`labelOffset ${labelOffset} is inconsistent with offsetData ${offsetData}`);
  if (sizePerElement !== labelOffset + 8) bad(`sizeDataPerElement ${sizePerElement} != labelOffset + 8`);
  if (elements > capacity) bad(`${elements} elements exceed the capacity ${capacity}`);
  // Capacity grows ×1.5 when full (and starts at ≥ 1024): a much larger one is corruption that
  // would make hnswlib allocate capacity × sizeDataPerElement bytes.
  if (capacity > Math.max(4096, 4 * elements)) bad(`capacity ${capacity} is implausible for ${elements} elements`);
  if (!(Number.isFinite(mult) && mult > 0 && mult <= 10)) bad(`level multiplier ${mult} is invalid`);
  if (efConstruction < 1 || efConstruction > MAX_EF_CONSTRUCTION) bad(`efConstruction ${efConstruction} is invalid`);
  if (elements > 0) {
    if (maxLevel < 0 || maxLevel > MAX_LEVEL) bad(`maxLevel ${maxLevel} is invalid`);
    if (enterpoint >= elements) bad(`entry point ${enterpoint} is past the last element (${elements})`);
  }
  const minBytes = HEADER_BYTES + elements * (sizePerElement + 4);
  if (bytes < minBytes) throw new IndexIntegrityError(file, `truncated (${bytes} bytes, the header needs at least ${minBytes})`);
  return { capacity, elements, sizePerElement, labelOffset, offsetData, maxLevel, enterpoint, maxM, maxM0, m, mult, efConstruction, dim: dataBytes / 4 };
}

/**
 * Incremental scanner: feed the file's bytes in order with update(), then finish(). Keeps only
 * one element level per element and the upper-level links (a few % of the graph) in memory.
 */
class Scanner {
  private readonly hash: Hash = createHash('sha256');
  private carry: Buffer = Buffer.alloc(0);
  private pos = 0; // file offset of carry[0]
  private header: IndexHeader | null = null;
  private element = 0; // next level-0 record
  private tailElement = 0; // next upper-level record
  private live = 0;
  private levels: Uint8Array = new Uint8Array(0);
  // Upper-level links, checked once every element's level is known: (neighbour, level) pairs.
  private upperNeighbours: number[] = [];
  private upperLevels: number[] = [];

  constructor(
    private readonly file: string,
    private readonly bytes: number,
  ) {}

  private fail(why: string): never {
    throw new IndexIntegrityError(this.file, why);
  }

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let off = 0;
    for (;;) {
      const used = this.step(buf, off);
      if (used === 0) break;
      off += used;
    }
    this.pos += off;
    this.carry = off < buf.length ? Buffer.from(buf.subarray(off)) : Buffer.alloc(0);
  }

  /** Consumes one record at buf[off...] and returns its size, or 0 when more bytes are needed. */
  private step(buf: Buffer, off: number): number {
    const avail = buf.length - off;
    const h = this.header;
    if (!h) {
      if (avail < HEADER_BYTES) return 0;
      this.header = parseHeader(buf.subarray(off, off + HEADER_BYTES), this.file, this.bytes);
      this.levels = new Uint8Array(this.header.elements);
      return HEADER_BYTES;
    }
    if (this.element < h.elements) {
      if (avail < h.sizePerElement) return 0;
      const count = buf.readUInt16LE(off);
      if (count > h.maxM0) this.fail(`element ${this.element}: ${count} level-0 links exceed maxM0 ${h.maxM0}`);
      for (let j = 0; j < count; j++) {
        const n = buf.readUInt32LE(off + 4 + 4 * j);
        if (n >= h.elements) this.fail(`element ${this.element}: level-0 link to ${n} is past the last element (${h.elements})`);
      }
      if ((buf[off + 2] & 1) === 0) this.live++;
      // Labels are chunk ids below 2^32 (hnswlib-node's limit): the high word must be 0.
      if (buf.readUInt32LE(off + h.labelOffset + 4) !== 0) this.fail(`element ${this.element}: label ${buf.readBigUInt64LE(off + h.labelOffset)} is out of range`);
      this.element++;
      return h.sizePerElement;
    }
    if (this.tailElement < h.elements) {
      if (avail < 4) return 0;
      const linkBytes = buf.readUInt32LE(off);
      const perLevel = 4 + 4 * h.maxM;
      if (linkBytes % perLevel !== 0) this.fail(`element ${this.tailElement}: upper link block of ${linkBytes} bytes is not a whole number of levels`);
      const level = linkBytes / perLevel;
      if (level > h.maxLevel) this.fail(`element ${this.tailElement}: level ${level} exceeds maxLevel ${h.maxLevel}`);
      if (this.pos + off + 4 + linkBytes > this.bytes) this.fail(`truncated upper-level links at element ${this.tailElement}`);
      if (avail < 4 + linkBytes) return 0;
      for (let l = 1; l <= level; l++) {
        const base = off + 4 + (l - 1) * perLevel;
        const count = buf.readUInt16LE(base);
        if (count > h.maxM) this.fail(`element ${this.tailElement}: ${count} level-${l} links exceed maxM ${h.maxM}`);
        for (let j = 0; j < count; j++) {
          const n = buf.readUInt32LE(base + 4 + 4 * j);
          if (n >= h.elements) this.fail(`element ${this.tailElement}: level-${l} link to ${n} is past the last element`);
          this.upperNeighbours.push(n);
          this.upperLevels.push(l);
        }
      }
      this.levels[this.tailElement] = level;
      this.tailElement++;
      return 4 + linkBytes;
    }
    if (avail > 0) this.fail(`${this.bytes - (this.pos + off)} unexpected trailing bytes`);
    return 0;
  }

  finish(): ScanResult {
    const h = this.header;
    if (!h) this.fail(`too small to be an index (${this.bytes} bytes)`);
    if (this.element < h.elements || this.tailElement < h.elements || this.carry.length) this.fail(`truncated (${this.bytes} bytes)`);
    if (h.elements > 0 && this.levels[h.enterpoint] !== h.maxLevel) {
      this.fail(`entry point ${h.enterpoint} has level ${this.levels[h.enterpoint]}, the header says the top level is ${h.maxLevel}`);
    }
    for (let i = 0; i < this.upperNeighbours.length; i++) {
      const n = this.upperNeighbours[i];
      if (this.levels[n] < this.upperLevels[i]) this.fail(`a level-${this.upperLevels[i]} link points to element ${n}, which only has level ${this.levels[n]}`);
    }
    return { header: h, bytes: this.bytes, sha256: this.hash.digest('hex'), live: this.live };
  }
}

function openError(file: string, err: unknown): IndexFileError {
  const code = (err as NodeJS.ErrnoException).code;
  return new IndexFileError(file, code === 'ENOENT' ? 'not found' : `cannot open (${code ?? String(err)})`);
}

/** Scans `file` synchronously (tools and the ingest job; see scanIndexFileAsync for servers). */
export function scanIndexFile(file: string): ScanResult {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw openError(file, err);
  }
  try {
    const bytes = fs.fstatSync(fd).size;
    const scanner = new Scanner(file, bytes);
    const buf = Buffer.allocUnsafe(CHUNK);
    // Bounded by the size fstat reported: a device or a file still growing cannot loop forever.
    for (let pos = 0; pos < bytes; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, bytes - pos), pos);
      if (n === 0) break;
      scanner.update(buf.subarray(0, n));
      pos += n;
    }
    return scanner.finish();
  } finally {
    fs.closeSync(fd);
  }
}

/** Scans `file` reading on the thread pool, so a server keeps answering while a big file is checked. */
export async function scanIndexFileAsync(file: string): Promise<ScanResult> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    throw openError(file, err);
  }
  try {
    const bytes = (await handle.stat()).size;
    const scanner = new Scanner(file, bytes);
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < bytes; ) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK, bytes - pos), pos);
      if (bytesRead === 0) break;
      scanner.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return scanner.finish();
  } finally {
    await handle.close();
  }
}

/** What the writer recorded about a file (index_versions row); null fields are unknown. */
export interface ExpectedFile {
  dim: number;
  sha256?: string | null;
  bytes?: number | null;
}

/** Throws IndexIntegrityError unless the scan matches what was recorded. */
export function checkScan(file: string, scan: ScanResult, expected: ExpectedFile): void {
  if (expected.bytes != null && scan.bytes !== expected.bytes) {
    throw new IndexIntegrityError(file, `size ${scan.bytes} bytes, ${expected.bytes} were written`);
  }
  if (expected.sha256 && scan.sha256 !== expected.sha256) {
    throw new IndexIntegrityError(file, `checksum mismatch (sha256 ${scan.sha256.slice(0, 12)}…, ${expected.sha256.slice(0, 12)}… was written): the file changed after it was written`);
  }
  if (scan.header.dim !== expected.dim) throw new IndexIntegrityError(file, `dimension ${scan.header.dim}, expected ${expected.dim}`);
}

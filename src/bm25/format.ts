import fs from 'node:fs';

// Container of one BM25 index version file (little-endian):
//   "KBBM25\0\1"                      8-byte magic
//   sections, each 8-byte aligned      typed arrays and byte blobs (see builder.ts for the list)
//   footer JSON (UTF-8)                { format, sections: { name: [offset, length, type] }, meta }
//   u32 footer length, "KBBM25\0\1"    so a reader finds the footer from the end
// The footer is written last, so a truncated file has no valid footer. Integrity beyond that is
// the SHA-256 recorded in SQLite and verified before a file is used (versions.ts).

export const MAGIC = Buffer.from('KBBM25\0\x01', 'latin1');
export const FORMAT_VERSION = 1;
/** Postings per block: the unit of decoding and of the per-block score upper bound. */
export const BLOCK_SIZE = 64;

export type SectionType = 'u8' | 'u32' | 'f64' | 'bytes';
export type Section = [offset: number, length: number, type: SectionType];

export interface Footer {
  format: number;
  sections: Record<string, Section>;
  meta: Record<string, unknown>;
}

export class Bm25FileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`BM25 index file ${file}: ${detail}`);
    this.name = 'Bm25FileError';
  }
}

const ELEMENT: Record<SectionType, number> = { u8: 1, u32: 4, f64: 8, bytes: 1 };

/** Sequential writer with a staging buffer; tracks the position and aligns sections. */
export class SectionWriter {
  private readonly stage = Buffer.alloc(1 << 20);
  private used = 0;
  position = 0;
  readonly sections: Record<string, Section> = {};

  constructor(private readonly fd: number) {
    this.write(MAGIC);
  }

  write(bytes: Uint8Array): void {
    if (bytes.length >= this.stage.length) {
      this.flush();
      writeAll(this.fd, bytes);
    } else {
      if (this.used + bytes.length > this.stage.length) this.flush();
      this.stage.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.position += bytes.length;
  }

  align(): void {
    const pad = (8 - (this.position % 8)) % 8;
    if (pad) this.write(new Uint8Array(pad));
  }

  /** Writes a whole typed array as a named section. */
  section(name: string, type: SectionType, data: Uint8Array | Uint32Array | Float64Array): void {
    this.align();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.sections[name] = [this.position, data.length, type];
    this.write(bytes);
  }

  /** Starts a section whose bytes follow through write(); close it with endSection. */
  beginSection(name: string): number {
    this.align();
    this.sections[name] = [this.position, 0, 'bytes'];
    return this.position;
  }

  endSection(name: string): void {
    const s = this.sections[name];
    s[1] = this.position - s[0];
  }

  finish(meta: Record<string, unknown>): void {
    this.align();
    const footer: Footer = { format: FORMAT_VERSION, sections: this.sections, meta };
    const json = Buffer.from(JSON.stringify(footer), 'utf8');
    this.write(json);
    const tail = Buffer.alloc(12);
    tail.writeUInt32LE(json.length, 0);
    MAGIC.copy(tail, 4);
    this.write(tail);
    this.flush();
  }

  flush(): void {
    if (this.used) writeAll(this.fd, this.stage.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** Parses the footer and returns typed views over the buffer (no copy when aligned). */
export class SectionReader {
  readonly footer: Footer;

  constructor(
    private readonly buf: Buffer,
    private readonly file: string,
  ) {
    if (buf.length < MAGIC.length + 12 || !buf.subarray(0, 8).equals(MAGIC) || !buf.subarray(buf.length - 8).equals(MAGIC)) {
      throw new Bm25FileError(file, 'not a BM25 index file (bad magic: truncated or overwritten)');
    }
    const len = buf.readUInt32LE(buf.length - 12);
    const start = buf.length - 12 - len;
    if (start < MAGIC.length) throw new Bm25FileError(file, 'corrupt footer length');
    let footer: Footer;
    try {
      footer = JSON.parse(buf.toString('utf8', start, start + len)) as Footer;
    } catch {
      throw new Bm25FileError(file, 'corrupt footer');
    }
    if (footer.format !== FORMAT_VERSION) throw new Bm25FileError(file, `unsupported format ${footer.format} (expected ${FORMAT_VERSION})`);
    for (const [name, [off, length, type]] of Object.entries(footer.sections)) {
      if (!Number.isInteger(off) || !Number.isInteger(length) || off < 0 || length < 0 || !(type in ELEMENT) || off + length * ELEMENT[type] > start) {
        throw new Bm25FileError(file, `section ${name} out of bounds`);
      }
    }
    this.footer = footer;
  }

  private get(name: string, type: SectionType): Section {
    const s = this.footer.sections[name];
    if (!s) throw new Bm25FileError(this.file, `missing section ${name}`);
    if (s[2] !== type) throw new Bm25FileError(this.file, `section ${name} has type ${s[2]}, expected ${type}`);
    return s;
  }

  u8(name: string): Uint8Array {
    const [off, len] = this.get(name, 'u8');
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + off, len);
  }

  bytes(name: string): Uint8Array {
    const [off, len] = this.get(name, 'bytes');
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + off, len);
  }

  u32(name: string): Uint32Array {
    const [off, len] = this.get(name, 'u32');
    return view(this.buf, off, len, 4, Uint32Array);
  }

  f64(name: string): Float64Array {
    const [off, len] = this.get(name, 'f64');
    return view(this.buf, off, len, 8, Float64Array);
  }
}

function view<T>(buf: Buffer, off: number, len: number, size: number, C: new (b: ArrayBufferLike, o: number, l: number) => T): T {
  const at = buf.byteOffset + off;
  if (at % size === 0) return new C(buf.buffer, at, len);
  // Only a pooled (small) Buffer can be misaligned: copy.
  const copy = new Uint8Array(len * size);
  copy.set(buf.subarray(off, off + len * size));
  return new C(copy.buffer, 0, len);
}

/**
 * Decodes `count` unsigned LEB128 values (as putVarint writes them) from `src` at `pos` into
 * `out[at..at + count)`. Returns the new position. One-byte values (most deltas and tfs) take the
 * short path.
 */
export function getVarints(src: Uint8Array, pos: number, count: number, out: Int32Array, at = 0): number {
  for (let i = at; i < at + count; i++) {
    let v = src[pos++];
    if (v & 0x80) {
      v &= 0x7f;
      let shift = 7;
      let byte: number;
      do {
        byte = src[pos++];
        v += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
    }
    out[i] = v;
  }
  return pos;
}

/** Unsigned LEB128 (values < 2^32). Returns the new position. */
export function putVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

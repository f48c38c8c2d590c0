import fs from 'node:fs';

// hnswlib's index file (hnswalg.h saveIndex) starts with a fixed header of native-endian PODs:
//   size_t offsetLevel0, maxElements, curElementCount, sizeDataPerElement, labelOffset, offsetData
//   int maxLevel; uint32 enterpointNode; size_t maxM, maxM0, M; double mult; size_t efConstruction
// then curElementCount × sizeDataPerElement bytes of level-0 data, then per element a uint32
// byte length followed by that many bytes of upper-level links.
// We read it ourselves because hnswlib neither stores the dimension (a wrong one loads as
// garbage) nor checks its writes (a full disk leaves a silently truncated file).

const HEADER_BYTES = 96;

export interface HnswFileInfo {
  dim: number;
  /** Slots in use (live + deleted). */
  elements: number;
  capacity: number;
  m: number;
  efConstruction: number;
  bytes: number;
}

export class IndexFileError extends Error {
  constructor(
    readonly file: string,
    /** What is wrong, without the path (for callers that must not see server paths). */
    readonly detail: string,
  ) {
    super(`index file ${file}: ${detail}`);
    this.name = 'IndexFileError';
  }
}

function readExactly(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new IndexFileError(file, `truncated (wanted ${length} bytes at ${position})`);
    done += n;
  }
  return buf;
}

/**
 * Parses the header and walks the link-list section, checking the file is complete and
 * well-formed (the same check hnswlib's loader makes, plus the dimension). Reads only the
 * header and the link-list tail, not the vectors.
 */
export function inspectIndexFile(file: string): HnswFileInfo {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IndexFileError(file, code === 'ENOENT' ? 'not found' : `cannot open (${code ?? String(err)})`);
  }
  try {
    const bytes = fs.fstatSync(fd).size;
    if (bytes < HEADER_BYTES) throw new IndexFileError(file, `too small to be an index (${bytes} bytes)`);
    const h = readExactly(fd, HEADER_BYTES, 0, file);
    const u64 = (off: number): number => {
      const v = h.readBigUInt64LE(off);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new IndexFileError(file, `corrupt header (field at ${off})`);
      return Number(v);
    };
    const offsetLevel0 = u64(0);
    const capacity = u64(8);
    const elements = u64(16);
    const sizePerElement = u64(24);
    const labelOffset = u64(32);
    const offsetData = u64(40);
    const m = u64(72);
    const efConstruction = u64(88);
    const dataBytes = labelOffset - offsetData;
    if (offsetLevel0 !== 0 || elements > capacity || labelOffset <= offsetData || dataBytes % 4 !== 0 || labelOffset + 8 !== sizePerElement) {
      throw new IndexFileError(file, 'corrupt or unsupported header');
    }
    const tailStart = HEADER_BYTES + elements * sizePerElement;
    if (tailStart + 4 * elements > bytes) throw new IndexFileError(file, `truncated (${bytes} bytes, vectors need ${tailStart + 4 * elements})`);
    // Link lists of upper levels: usually a few bytes per element; read the tail in pieces.
    let pos = tailStart;
    const block = 1 << 20;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = pos;
    const need = (n: number): void => {
      if (pos + n <= bufStart + buf.length) return;
      if (pos + n > bytes) throw new IndexFileError(file, `truncated link lists (${bytes} bytes)`);
      bufStart = pos;
      buf = readExactly(fd, Math.min(bytes - pos, Math.max(block, n)), pos, file);
    };
    for (let i = 0; i < elements; i++) {
      need(4);
      const linkBytes = buf.readUInt32LE(pos - bufStart);
      pos += 4 + linkBytes;
      if (pos > bytes) throw new IndexFileError(file, `truncated link lists (${bytes} bytes)`);
    }
    if (pos !== bytes) throw new IndexFileError(file, `unexpected ${bytes - pos} trailing bytes`);
    return { dim: dataBytes / 4, elements, capacity, m, efConstruction, bytes };
  } finally {
    fs.closeSync(fd);
  }
}

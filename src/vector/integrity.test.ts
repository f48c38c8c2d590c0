import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HnswIndex } from './hnsw.ts';
import { IndexIntegrityError, scanIndexFile, scanIndexFileAsync } from './integrity.ts';
import { randomVectors } from './test-corpus.ts';

// The structural checks each stop a file that would make hnswlib read out of bounds. Damaged
// files are only ever scanned here, never handed to hnswlib (see test/fault for that).

const DIM = 8;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function written(n = 300): Promise<{ file: string; bytes: Buffer }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-integrity-'));
  dirs.push(dir);
  const ix = HnswIndex.create(DIM, n, { m: 4, efConstruction: 32, seed: 3 });
  randomVectors(n, DIM, 5).forEach((v, i) => ix.add(i + 1, v));
  ix.remove(7);
  const file = path.join(dir, 'a.hnsw');
  const w = await ix.writeAtomic(file);
  const bytes = fs.readFileSync(file);
  expect(w).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  return { file, bytes };
}

const damaged = (file: string, bytes: Buffer, edit: (b: Buffer) => void): string => {
  const b = Buffer.from(bytes);
  edit(b);
  fs.writeFileSync(file, b);
  return file;
};

// Offsets inside the file, from its header (see integrity.ts for the layout).
const layout = (b: Buffer) => {
  const elements = Number(b.readBigUInt64LE(16));
  const size = Number(b.readBigUInt64LE(24));
  return { elements, size, tail: 96 + elements * size, maxM: Number(b.readBigUInt64LE(56)) };
};

/** Offset of the first element that has upper levels, and its link block length. */
function firstUpper(b: Buffer): { at: number; linkBytes: number } {
  const { elements, tail } = layout(b);
  let pos = tail;
  for (let i = 0; i < elements; i++) {
    const n = b.readUInt32LE(pos);
    if (n > 0) return { at: pos, linkBytes: n };
    pos += 4;
  }
  throw new Error('no element with upper levels');
}

describe('scanIndexFile', () => {
  it('returns the header, the live count and the SHA-256 of the bytes, the same sync and async', async () => {
    const { file, bytes } = await written();
    const s = scanIndexFile(file);
    expect(s.header).toMatchObject({ dim: DIM, elements: 300, m: 4, maxM0: 8, efConstruction: 32 });
    expect(s.live).toBe(299);
    expect(s.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await scanIndexFileAsync(file)).toEqual(s);
  });

  const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
    ['an entry point past the last element', (b) => b.writeUInt32LE(0xfffffff0, 52), /entry point 4294967280 is past the last element/],
    ['an entry point below the top level', (b) => b.writeUInt32LE(layout(b).elements - 1 === b.readUInt32LE(52) ? 0 : layout(b).elements - 1, 52), /entry point .* has level/],
    ['a huge capacity', (b) => b.writeBigUInt64LE(1n << 40n, 8), /capacity .* is implausible/],
    ['a level-0 neighbour past the last element', (b) => b.writeUInt32LE(123456, 96 + 4), /level-0 link to 123456 is past the last element/],
    ['too many level-0 neighbours', (b) => b.writeUInt16LE(200, 96), /200 level-0 links exceed maxM0 8/],
    ['a label beyond 32 bits', (b) => b.writeBigUInt64LE(1n << 40n, 96 + Number(b.readBigUInt64LE(32))), /label .* is out of range/],
    ['a broken upper link block', (b) => b.writeUInt32LE(firstUpper(b).linkBytes + 1, firstUpper(b).at), /not a whole number of levels/],
    ['an upper link to an element without that level', (b) => {
      const { at } = firstUpper(b);
      b.writeUInt16LE(1, at + 4);
      // Element 0 or some element with level 0: find one by scanning the tail.
      const { elements, tail } = layout(b);
      let pos = tail;
      let flat = -1;
      for (let i = 0; i < elements; i++) {
        const n = b.readUInt32LE(pos);
        if (n === 0 && flat < 0) flat = i;
        pos += 4 + n;
      }
      b.writeUInt32LE(flat, at + 8);
    }, /level-1 link points to element \d+, which only has level 0/],
  ];
  for (const [what, edit, message] of cases) {
    it(`refuses ${what}`, async () => {
      const { file, bytes } = await written();
      expect(() => scanIndexFile(damaged(file, bytes, edit))).toThrow(message);
      await expect(scanIndexFileAsync(file)).rejects.toThrow(IndexIntegrityError);
    });
  }

  it('refuses truncated files and extra bytes, and names a missing file', async () => {
    const { file, bytes } = await written();
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    expect(() => scanIndexFile(file)).toThrow(/truncated/);
    fs.writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(5)]));
    expect(() => scanIndexFile(file)).toThrow(/5 unexpected trailing bytes/);
    expect(() => scanIndexFile(`${file}.nope`)).toThrow(/not found/);
  });

  it('HnswIndex.load refuses a file whose bytes differ from the recorded checksum, even when its structure is fine', async () => {
    const { file, bytes } = await written();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const vectorByte = 96 + Number(bytes.readBigUInt64LE(40)) + 1;
    damaged(file, bytes, (b) => (b[vectorByte] ^= 0x10));
    expect(HnswIndex.load(file, DIM).count).toBe(299); // structure alone cannot tell
    expect(() => HnswIndex.load(file, DIM, { sha256, bytes: bytes.length })).toThrow(/checksum mismatch/);
  });
});

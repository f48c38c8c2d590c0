import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HnswIndex } from './hnsw.ts';
import { IndexFileError } from './file-format.ts';
import { scanIndexFile } from './integrity.ts';
import { randomVectors } from './test-corpus.ts';

const DIM = 16;
const params = { m: 8, efConstruction: 64, seed: 7 };
const dirs: string[] = [];
const tmpDir = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-hnsw-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function build(n: number, seed = 1): { index: HnswIndex; vectors: Float32Array[] } {
  const vectors = randomVectors(n, DIM, seed);
  const index = HnswIndex.create(DIM, n, params);
  vectors.forEach((v, i) => index.add(i + 1, v));
  return { index, vectors };
}

describe('HnswIndex', () => {
  it('finds a stored vector as its own nearest neighbour with cosine score ≈ 1', () => {
    const { index, vectors } = build(200);
    expect(index.count).toBe(200);
    for (const label of [1, 57, 200]) {
      const [top] = index.search(vectors[label - 1], 3);
      expect(top.label).toBe(label);
      expect(top.score).toBeCloseTo(1, 5);
      expect(top.distance).toBeCloseTo(0, 5);
    }
    const hits = index.search(vectors[0], 10);
    expect(hits).toHaveLength(10);
    for (let i = 1; i < hits.length; i++) expect(hits[i].distance).toBeGreaterThanOrEqual(hits[i - 1].distance);
  });

  it('removes labels from results and reports whether they were live', () => {
    const { index, vectors } = build(100);
    expect(index.remove(5)).toBe(true);
    expect(index.remove(5)).toBe(false); // already deleted
    expect(index.remove(12345)).toBe(false); // never added
    expect(index.count).toBe(99);
    expect(index.has(5)).toBe(false);
    expect(index.search(vectors[4], 100).map((h) => h.label)).not.toContain(5);
    expect(index.liveLabels()).toHaveLength(99);
  });

  it('reuses deleted slots instead of growing', () => {
    const { index } = build(100);
    for (let l = 1; l <= 30; l++) index.remove(l);
    const slots = index.slots;
    randomVectors(30, DIM, 2).forEach((v, i) => index.add(1000 + i, v));
    expect(index.slots).toBe(slots);
    expect(index.count).toBe(100);
    expect(index.liveLabels()).toEqual([...Array.from({ length: 70 }, (_, i) => 31 + i), ...Array.from({ length: 30 }, (_, i) => 1000 + i)]);
  });

  it('grows capacity when full', () => {
    const index = HnswIndex.create(DIM, 10, params);
    const start = index.capacity;
    randomVectors(start + 5, DIM, 3).forEach((v, i) => index.add(i + 1, v));
    expect(index.capacity).toBeGreaterThanOrEqual(Math.ceil(start * 1.5));
    expect(index.count).toBe(start + 5);
  });

  it('re-adding a removed label revives it with the new vector', () => {
    const { index } = build(50);
    const [fresh] = randomVectors(1, DIM, 99);
    index.remove(7);
    index.add(7, fresh);
    expect(index.count).toBe(50);
    expect(index.search(fresh, 1)[0].label).toBe(7);
    // Replacing a live label's vector keeps the count.
    const [other] = randomVectors(1, DIM, 100);
    index.add(7, other);
    expect(index.count).toBe(50);
    expect(index.search(other, 1)[0].label).toBe(7);
  });

  it('applies the filter inside the search and still returns k hits', () => {
    const { index, vectors } = build(300);
    const even = (l: number): boolean => l % 2 === 0;
    const hits = index.search(vectors[0], 10, even); // label 1 itself is odd
    expect(hits).toHaveLength(10);
    expect(hits.every((h) => even(h.label))).toBe(true);
  });

  it('rejects vectors of the wrong dimension or with NaN, and bad labels', () => {
    const index = HnswIndex.create(DIM, 10, params);
    expect(() => index.add(1, new Float32Array(DIM + 1))).toThrow(/dimension/);
    expect(() => index.add(1, new Float32Array(DIM).fill(Number.NaN))).toThrow(/finite/);
    expect(() => index.add(-1, new Float32Array(DIM).fill(1))).toThrow(/label/);
    expect(index.search(new Float32Array(DIM).fill(1), 5)).toEqual([]); // empty index
  });

  it('writes atomically: the file reloads with the same live labels and no temp file remains', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'a.hnsw');
    const { index, vectors } = build(120);
    index.remove(3);
    await index.writeAtomic(file);
    expect(fs.readdirSync(dir)).toEqual(['a.hnsw']);
    const info = scanIndexFile(file);
    expect(info.header).toMatchObject({ dim: DIM, elements: 120, m: 8, efConstruction: 64 });
    expect(info.live).toBe(119);
    const loaded = HnswIndex.load(file, DIM);
    expect(loaded.count).toBe(119);
    expect(loaded.liveLabels()).toEqual(index.liveLabels());
    expect(loaded.search(vectors[10], 1)[0].label).toBe(11);
    const async = await HnswIndex.loadAsync(file, DIM, { liveCount: 119 });
    expect(async.search(vectors[10], 1)[0].label).toBe(11);
  });

  it('a failed write leaves the previous file intact', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'a.hnsw');
    await build(40).index.writeAtomic(file);
    const before = fs.readFileSync(file);
    // The temp path is occupied by a directory, so the write fails before the rename.
    fs.mkdirSync(`${file}.tmp-${process.pid}`);
    await expect(build(80, 5).index.writeAtomic(file)).rejects.toThrow();
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(HnswIndex.load(file, DIM).count).toBe(40);
  });

  it('a full disk (hnswlib writes silently short) is reported as "disk full" and leaves the previous file intact', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'a.hnsw');
    await build(40).index.writeAtomic(file);
    const before = fs.readFileSync(file);
    // Every write to the temp file fails with ENOSPC (hnswlib ignores it), and the filesystem reports no space left.
    fs.symlinkSync('/dev/full', `${file}.tmp-${process.pid}`);
    const statfs = vi.spyOn(fs, 'statfsSync').mockReturnValue({ bavail: 0, bsize: 4096 } as fs.StatsFs);
    try {
      await expect(build(80, 5).index.writeAtomic(file)).rejects.toThrow(new RegExp(`^disk full: the index file ${file} could not be written completely \\(0\\.0 MiB free`));
    } finally {
      statfs.mockRestore();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['a.hnsw']);
  });

  it('a write into a missing directory fails without creating anything', async () => {
    const dir = tmpDir();
    await expect(build(10).index.writeAtomic(path.join(dir, 'nope', 'a.hnsw'))).rejects.toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses truncated files and files of another dimension with a clear error', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'a.hnsw');
    await build(60).index.writeAtomic(file);
    expect(() => HnswIndex.load(file, 32)).toThrow(/dimension 16, expected 32/);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    expect(() => HnswIndex.load(file, DIM)).toThrow(IndexFileError);
    fs.writeFileSync(file, Buffer.alloc(50));
    expect(() => HnswIndex.load(file, DIM)).toThrow(/too small/);
    expect(() => HnswIndex.load(path.join(dir, 'missing.hnsw'), DIM)).toThrow(/not found/);
  });
});

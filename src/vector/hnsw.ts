import fs from 'node:fs';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { IndexFileError } from './file-format.ts';
import { StoreError } from '../store/diagnose.ts';
import { checkScan, scanIndexFile, scanIndexFileAsync, type ScanResult } from './integrity.ts';

// hnswlib-node is CommonJS; the default import is its exports object.
const { HierarchicalNSW } = hnswlib;
type NativeIndex = InstanceType<typeof HierarchicalNSW>;

export interface HnswBuildParams {
  /** Graph degree (hnswlib M). */
  m: number;
  /** Build-time beam width. */
  efConstruction: number;
  /** Seed of the level generator: the same inputs give the same graph. */
  seed?: number;
}

export interface HnswHit {
  label: number;
  /** Cosine distance (1 - cosine similarity). */
  distance: number;
  /** Cosine similarity: 1 - distance (higher is better). */
  score: number;
}

export interface HnswLoadOptions {
  /**
   * Live (not deleted) elements in the file, when the caller knows it (index_versions.vectors).
   * hnswlib-node exposes no deleted-count, so without it `count` is computed on first use by
   * probing every label (O(n·dim)).
   */
  liveCount?: number;
  /** Beam width for searches (default 128). */
  efSearch?: number;
  /**
   * What the writer recorded (index_versions.sha256 / bytes): the file must match it byte for
   * byte. Without it only the structure is checked (files written before checksums existed).
   */
  sha256?: string | null;
  bytes?: number | null;
  /** Further checks of the scan (e.g. against the version's row); throw to refuse the file. */
  verify?: (scan: ScanResult) => void;
}

/** The integrity facts of a written file, recorded with its version. */
export interface WrittenFile {
  sha256: string;
  bytes: number;
}

const GROWTH = 1.5;
const MIN_CAPACITY = 1024;

const isMsg = (err: unknown, text: string): boolean => err instanceof Error && err.message.includes(text);

/**
 * Cosine-space HNSW index over integer labels (chunk ids), a thin wrapper over hnswlib-node:
 * grows its capacity on demand, reuses the slots of deleted elements, converts Float32Array
 * vectors without allocation, and writes its file atomically.
 */
export class HnswIndex {
  readonly dim: number;
  private readonly native: NativeIndex;
  // hnswlib-node takes number[]; one reusable buffer avoids an allocation per call (the
  // native side copies it synchronously).
  private readonly scratch: number[];
  private efSearch: number;
  private live: number | undefined;
  // Labels that may be in hnswlib's label table (live or deleted). A superset: a deleted
  // slot reused for a new label drops the old label from hnswlib's table without telling us.
  private readonly maybeKnown: Set<number>;

  private constructor(dim: number, native: NativeIndex, live: number | undefined, efSearch: number, known: Iterable<number>) {
    this.dim = dim;
    this.native = native;
    this.scratch = new Array<number>(dim).fill(0);
    this.efSearch = efSearch;
    this.live = live;
    this.maybeKnown = new Set(known);
  }

  /** A new empty index. */
  static create(dim: number, maxElements: number, params: HnswBuildParams, efSearch = 128): HnswIndex {
    assertDim(dim);
    const native = new HierarchicalNSW('cosine', dim);
    native.initIndex(Math.max(MIN_CAPACITY, Math.ceil(maxElements)), params.m, params.efConstruction, params.seed ?? 100, true);
    return new HnswIndex(dim, native, 0, efSearch, []);
  }

  /**
   * Loads an index file (synchronously; see loadAsync for servers). The whole file is verified
   * first (checksum when given, and the graph structure): hnswlib never sees a file that fails.
   */
  static load(file: string, dim: number, opts: HnswLoadOptions = {}): HnswIndex {
    assertDim(dim);
    const scan = scanIndexFile(file);
    checkScan(file, scan, { dim, sha256: opts.sha256, bytes: opts.bytes });
    opts.verify?.(scan);
    const native = new HierarchicalNSW('cosine', dim);
    native.readIndexSync(file, true);
    return HnswIndex.wrapLoaded(native, dim, opts);
  }

  /** Loads an index file on libuv's thread pool so the event loop keeps serving meanwhile. */
  static async loadAsync(file: string, dim: number, opts: HnswLoadOptions = {}): Promise<HnswIndex> {
    assertDim(dim);
    const scan = await scanIndexFileAsync(file);
    checkScan(file, scan, { dim, sha256: opts.sha256, bytes: opts.bytes });
    opts.verify?.(scan);
    const native = new HierarchicalNSW('cosine', dim);
    await native.readIndex(file, true);
    return HnswIndex.wrapLoaded(native, dim, opts);
  }

  private static wrapLoaded(native: NativeIndex, dim: number, opts: HnswLoadOptions): HnswIndex {
    return new HnswIndex(dim, native, opts.liveCount, opts.efSearch ?? 128, native.getIdsList());
  }

  /** Live (searchable) elements. */
  get count(): number {
    if (this.live === undefined) this.live = this.liveLabels().length;
    return this.live;
  }

  /** Allocated slots, live or deleted. */
  get slots(): number {
    return this.native.getCurrentCount();
  }

  get capacity(): number {
    return this.native.getMaxElements();
  }

  setEfSearch(ef: number): void {
    if (!Number.isInteger(ef) || ef < 1) throw new Error(`ef_search must be a positive integer, got ${ef}`);
    this.efSearch = ef;
  }

  /** Whether `label` is live in the index. */
  has(label: number): boolean {
    if (!this.maybeKnown.has(label)) return false;
    try {
      this.native.getPoint(label); // throws "Label not found" for missing and deleted labels
      return true;
    } catch (err) {
      if (isMsg(err, 'Label not found')) return false;
      throw err;
    }
  }

  /** Every live label, sorted. O(n·dim): meant for verification and tools, not hot paths. */
  liveLabels(): number[] {
    const out: number[] = [];
    for (const label of this.native.getIdsList()) if (this.has(label)) out.push(label);
    return out.sort((a, b) => a - b);
  }

  /**
   * Adds (or replaces the vector of) `label`. Reuses a deleted slot when one exists, otherwise
   * grows capacity by ×1.5 when full.
   */
  add(label: number, vector: Float32Array | readonly number[]): void {
    assertLabel(label);
    const point = this.toPoint(vector);
    if (this.maybeKnown.has(label)) {
      // Rare path: the label may already have a slot. Re-adding a deleted label must revive
      // its own slot; giving it another slot would leave two slots with one label, and a
      // later reuse of the stale one would erase the label from hnswlib's table.
      let state: 'live' | 'revived' | 'absent';
      try {
        this.native.unmarkDelete(label);
        state = 'revived';
      } catch (err) {
        if (isMsg(err, 'is not deleted')) state = 'live';
        else if (isMsg(err, 'Label not found')) state = 'absent';
        else throw err;
      }
      if (state !== 'absent') {
        this.native.addPoint(point, label, false); // updates the vector in place
        if (state === 'revived' && this.live !== undefined) this.live += 1;
        return;
      }
    }
    try {
      this.native.addPoint(point, label, true);
    } catch (err) {
      if (!isMsg(err, 'exceeds the specified limit')) throw err;
      this.native.resizeIndex(Math.max(MIN_CAPACITY, Math.ceil(this.capacity * GROWTH)));
      this.native.addPoint(point, label, true);
    }
    this.maybeKnown.add(label);
    if (this.live !== undefined) this.live += 1;
  }

  /**
   * Marks `label` deleted (its slot is reused by later adds). Returns false when the label was
   * not live (absent or already deleted); other failures throw.
   */
  remove(label: number): boolean {
    assertLabel(label);
    try {
      this.native.markDelete(label);
    } catch (err) {
      if (isMsg(err, 'already deleted') || isMsg(err, 'Label not found')) return false;
      throw err;
    }
    if (this.live !== undefined) this.live -= 1;
    return true;
  }

  /**
   * The k nearest live labels by cosine distance, best first. `filter` restricts candidates
   * inside the graph search (so k results come back when enough labels pass), at the cost of
   * a JS call per visited candidate.
   */
  search(vector: Float32Array | readonly number[], k: number, filter?: (label: number) => boolean): HnswHit[] {
    if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
    const n = Math.min(k, this.capacity);
    if (n === 0 || this.slots === 0) return [];
    this.native.setEf(Math.max(this.efSearch, n));
    const res = filter ? this.native.searchKnn(this.toPoint(vector), n, filter) : this.native.searchKnn(this.toPoint(vector), n);
    const hits: HnswHit[] = new Array(res.neighbors.length);
    for (let i = 0; i < res.neighbors.length; i++) {
      hits[i] = { label: res.neighbors[i], distance: res.distances[i], score: 1 - res.distances[i] };
    }
    return hits;
  }

  /**
   * Writes the index so that `file` is always either the old or the complete new file: write
   * a temp file beside it, verify and checksum it, fsync it, rename over the target, fsync the
   * directory. Returns the checksum and size to record with the version.
   */
  async writeAtomic(file: string): Promise<WrittenFile> {
    const dir = path.dirname(file);
    const tmp = `${file}.tmp-${process.pid}`;
    let scan: ScanResult;
    try {
      // hnswlib reports a failed open only as a silently empty file; probe writability first.
      fs.closeSync(fs.openSync(tmp, 'w'));
      await this.native.writeIndex(tmp);
      // hnswlib does not check its writes (a full disk leaves a short file): read it back.
      scan = scanIndexFile(tmp);
      if (scan.header.elements !== this.slots || scan.header.dim !== this.dim) {
        throw new IndexFileError(tmp, `written file holds ${scan.header.elements}×${scan.header.dim}, index has ${this.slots}×${this.dim}`);
      }
      const fd = fs.openSync(tmp, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw diskFullOr(err, file, dir);
    }
    fsyncDir(dir);
    return { sha256: scan.sha256, bytes: scan.bytes };
  }

  private toPoint(vector: Float32Array | readonly number[]): number[] {
    if (vector.length !== this.dim) throw new Error(`vector has dimension ${vector.length}, index expects ${this.dim}`);
    const p = this.scratch;
    for (let i = 0; i < p.length; i++) {
      const x = vector[i];
      if (!Number.isFinite(x)) throw new Error(`vector component ${i} is not a finite number (${x})`);
      p[i] = x;
    }
    return p;
  }
}

/** fsync a directory so a rename/unlink in it survives a power loss (no-op where unsupported). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Windows cannot open directories; EISDIR/EPERM/EINVAL there mean "not supported".
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function assertDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dimension must be a positive integer, got ${dim}`);
}

function assertLabel(label: number): void {
  // hnswlib-node converts labels with Uint32Value: larger values would silently wrap.
  if (!Number.isInteger(label) || label < 0 || label > 0xffffffff) throw new Error(`label must be an integer in [0, 2^32), got ${label}`);
}

/**
 * hnswlib ignores write errors, so a full disk shows up only as a short or malformed temp file.
 * When the filesystem is (nearly) out of space, say so instead of "truncated".
 */
function diskFullOr(err: unknown, file: string, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  let free: number | null = null;
  try {
    const s = fs.statfsSync(dir);
    free = s.bavail * s.bsize;
  } catch {
    /* unknown */
  }
  const full = code === 'ENOSPC' || code === 'EDQUOT' || (err instanceof IndexFileError && free !== null && free < 64 * 2 ** 20);
  if (!full) return err;
  const freeText = free === null ? 'free space unknown' : `${(free / 2 ** 20).toFixed(1)} MiB free`;
  return new StoreError('disk_full', `disk full: the index file ${file} could not be written completely (${freeText} in ${dir}); the previous version keeps serving. Free space and rerun.`, { cause: err });
}

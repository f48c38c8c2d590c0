import path from 'node:path';
import type { DB } from '../store/index.ts';
import { IndexFileError } from './file-format.ts';
import { HnswIndex, type HnswLoadOptions } from './hnsw.ts';
import { checkScan, IndexIntegrityError, scanIndexFile, scanIndexFileAsync, type ScanResult } from './integrity.ts';
import type { IndexVersion } from './versions.ts';

// Verification of an index version's file against its index_versions row: the recorded
// checksum and size, then the header against the recorded parameters (dimension, capacity, M,
// ef_construction) and the live-element count. Everything that loads a version goes through
// here, so hnswlib only ever reads a file that passed.

export interface VersionCheck {
  version: IndexVersion;
  ok: boolean;
  /** Why the file must not be loaded (null when ok). */
  problem: string | null;
  /** 'verified': the recorded SHA-256 matched; 'structure_only': no digest was recorded (pre-006 version). */
  checksum: 'verified' | 'structure_only' | null;
  /** The digest computed now (when the file could be read completely). */
  sha256: string | null;
  bytes: number | null;
}

/** Throws IndexIntegrityError when the scanned header or content disagrees with the version's row. */
export function checkAgainstVersion(file: string, scan: ScanResult, v: IndexVersion): void {
  checkScan(file, scan, { dim: v.dim, sha256: v.sha256, bytes: v.bytes });
  const h = scan.header;
  const mismatch: string[] = [];
  if (h.m !== v.params.m) mismatch.push(`M ${h.m} (recorded ${v.params.m})`);
  if (h.efConstruction !== v.params.ef_construction) mismatch.push(`ef_construction ${h.efConstruction} (recorded ${v.params.ef_construction})`);
  if (v.params.max_elements !== undefined && h.capacity !== v.params.max_elements) mismatch.push(`capacity ${h.capacity} (recorded ${v.params.max_elements})`);
  if (scan.live !== v.vectors) mismatch.push(`${scan.live} live vectors (recorded ${v.vectors})`);
  if (mismatch.length) throw new IndexIntegrityError(file, `does not match version ${v.id}: ${mismatch.join(', ')}`);
}

function result(v: IndexVersion, scan: ScanResult | null, err: unknown): VersionCheck {
  const checksum = v.sha256 ? 'verified' : 'structure_only';
  if (!err) return { version: v, ok: true, problem: null, checksum, sha256: scan!.sha256, bytes: scan!.bytes };
  if (!(err instanceof IndexFileError)) throw err;
  return { version: v, ok: false, problem: err.message, checksum: null, sha256: scan?.sha256 ?? null, bytes: scan?.bytes ?? null };
}

/** Full check of a version's file (reads it once). Never throws for a bad or missing file. */
export function verifyVersion(dataDir: string, v: IndexVersion): VersionCheck {
  const file = path.join(dataDir, v.file);
  let scan: ScanResult | null = null;
  try {
    scan = scanIndexFile(file);
    checkAgainstVersion(file, scan, v);
    return result(v, scan, null);
  } catch (err) {
    return result(v, scan, err);
  }
}

export async function verifyVersionAsync(dataDir: string, v: IndexVersion): Promise<VersionCheck> {
  const file = path.join(dataDir, v.file);
  let scan: ScanResult | null = null;
  try {
    scan = await scanIndexFileAsync(file);
    checkAgainstVersion(file, scan, v);
    return result(v, scan, null);
  } catch (err) {
    return result(v, scan, err);
  }
}

/** Load options that make HnswIndex verify the file against the version before hnswlib reads it. */
export function versionLoadOptions(dataDir: string, v: IndexVersion, efSearch: number, onScan?: (scan: ScanResult) => void): HnswLoadOptions {
  const file = path.join(dataDir, v.file);
  return {
    liveCount: v.vectors,
    efSearch,
    sha256: v.sha256,
    bytes: v.bytes,
    verify: (scan) => {
      checkAgainstVersion(file, scan, v);
      onScan?.(scan);
    },
  };
}

/** Loads a version's file after verifying it in the same read (throws IndexFileError when it fails). */
export const loadVersion = (dataDir: string, v: IndexVersion, efSearch: number, onScan?: (scan: ScanResult) => void): HnswIndex =>
  HnswIndex.load(path.join(dataDir, v.file), v.dim, versionLoadOptions(dataDir, v, efSearch, onScan));

export const loadVersionAsync = (dataDir: string, v: IndexVersion, efSearch: number, onScan?: (scan: ScanResult) => void): Promise<HnswIndex> =>
  HnswIndex.loadAsync(path.join(dataDir, v.file), v.dim, versionLoadOptions(dataDir, v, efSearch, onScan));

/**
 * Records the digest of a pre-006 version whose file just passed the structural check, so later
 * loads compare it byte for byte ("trust on first verified use"). Only the ingest job and the
 * `kb index` tools call this (they hold the ingestion lock): a server never writes here, since a
 * busy store would block its event loop.
 */
export function backfillChecksum(db: DB, v: IndexVersion, scan: { sha256: string | null; bytes: number | null }): boolean {
  if (v.sha256 || !scan.sha256) return false;
  return db.prepare('UPDATE index_versions SET sha256 = ?, bytes = ? WHERE id = ? AND sha256 IS NULL').run(scan.sha256, scan.bytes, v.id).changes === 1;
}

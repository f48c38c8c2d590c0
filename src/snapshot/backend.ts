import path from 'node:path';
import type { SnapshotManifest } from './manifest.ts';
import { FsSnapshotBackend } from './fs-backend.ts';

/**
 * Where snapshots live. A snapshot is immutable once published; `latest` names the one replicas
 * should serve (normally the newest; pointing it back at an older one is a rollback).
 *
 * Implemented: the filesystem backend (a directory, typically a shared volume). An S3-compatible
 * backend fits the same contract — upload the files, then manifest.json, then LATEST (a PUT is
 * atomic per object, so the ordering gives the same "manifest last" guarantee); `list` is a
 * delimiter listing of `<prefix>/`; `download` a ranged GET streamed into `destFile`.
 */
export interface SnapshotBackend {
  /** Human-readable location for logs and errors. */
  readonly location: string;
  /** Uploads every file of the manifest (read from `sourceOf(path)`), then the manifest, then LATEST. */
  publish(manifest: SnapshotManifest, sourceOf: (relPath: string) => string): Promise<void>;
  /** The snapshot LATEST names (falling back to the newest complete one), or null when none exists. */
  latest(): Promise<SnapshotManifest | null>;
  /** Complete snapshots (those with a valid manifest), oldest first. Broken ones are skipped. */
  list(): Promise<SnapshotManifest[]>;
  /** The id LATEST points to (null: no pointer yet). */
  latestId(): Promise<string | null>;
  /** Points LATEST at an existing complete snapshot (a rollback, or a roll forward again). */
  setLatest(id: string): Promise<void>;
  /** Copies one file of a snapshot to `destFile` (parent folder must exist); `signal` aborts it. */
  download(id: string, relPath: string, destFile: string, signal?: AbortSignal): Promise<void>;
  /** Deletes a snapshot (manifest first, so a concurrent reader never sees a half-deleted complete snapshot). */
  remove(id: string): Promise<void>;
  /** Deletes unfinished uploads older than maxAgeMs; returns their names. */
  removeStaleUploads(maxAgeMs: number): Promise<string[]>;
}

export class UnsupportedBackendError extends Error {
  constructor(location: string) {
    super(
      `snapshot location "${location}": only filesystem directories are supported in this build (an S3-compatible backend implements the SnapshotBackend interface in src/snapshot/backend.ts; mount the bucket or a shared volume as a directory meanwhile)`,
    );
    this.name = 'UnsupportedBackendError';
  }
}

/** A backend for a configured location: a directory path (relative paths resolve against `baseDir`). */
export function openBackend(location: string, baseDir: string): SnapshotBackend {
  if (!location) throw new Error('no snapshot location configured (snapshot.target / snapshot.source)');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('file://')) throw new UnsupportedBackendError(location);
  const dir = location.startsWith('file://') ? new URL(location).pathname : path.resolve(baseDir, location);
  return new FsSnapshotBackend(dir);
}

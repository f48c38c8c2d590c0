import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

// A snapshot is immutable: a folder of files plus manifest.json, which lists every file with
// its size and SHA-256. The manifest is written last, so its presence marks a complete snapshot.

export const MANIFEST_FILE = 'manifest.json';
export const STORE_FILE = 'kb.sqlite';
export const SNAPSHOT_FORMAT = 'kb-snapshot/1';

// Ids sort by creation time (UTC, ms) and carry a random suffix so two publishers never collide.
const idPattern = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;
export const snapshotIdSchema = z.string().regex(idPattern, 'snapshot id must look like 20261130T141500123Z-1a2b3c4d');

/** A path inside a snapshot: relative, POSIX separators, no `..`, no absolute paths. */
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), 'must be a relative path inside the snapshot');

export const manifestSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    id: snapshotIdSchema,
    created_at: z.string(),
    /** The store file (an online SQLite backup). */
    store: relPath,
    /** Active index versions the store references, per versions table (informational). */
    versions: z.array(z.object({ table: z.string(), id: z.number().int(), file: relPath })),
    files: z.array(z.object({ path: relPath, bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).min(1),
    bytes: z.number().int().nonnegative(),
  })
  .strict()
  .refine((m) => m.files.some((f) => f.path === m.store), { message: 'the store file must be listed in files' })
  .refine((m) => new Set(m.files.map((f) => f.path)).size === m.files.length, { message: 'duplicate file path' });

export type SnapshotManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = SnapshotManifest['files'][number];

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export function parseManifest(text: string, where: string): SnapshotManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SnapshotError(`${where}: manifest is not JSON: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SnapshotError(`${where}: invalid manifest: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function newSnapshotId(now = new Date(), random = Math.random): string {
  const stamp = now.toISOString().replace(/[-:.]/g, ''); // 20261130T141500123Z
  const suffix = Math.floor(random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
  return `${stamp}-${suffix}`;
}

/** SHA-256 and size of a file, streamed (index files reach gigabytes). */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Throws SnapshotError naming the first file whose size or SHA-256 differs from the manifest. */
export async function verifyFiles(dir: string, manifest: SnapshotManifest, opts: { sizesOnly?: boolean } = {}): Promise<void> {
  for (const f of manifest.files) {
    const abs = path.join(dir, ...f.path.split('/'));
    let size: number;
    try {
      size = fs.statSync(abs).size;
    } catch {
      throw new SnapshotError(`snapshot ${manifest.id}: ${f.path} is missing`);
    }
    if (size !== f.bytes) throw new SnapshotError(`snapshot ${manifest.id}: ${f.path} has ${size} bytes, the manifest says ${f.bytes}`);
    if (opts.sizesOnly) continue;
    const got = await hashFile(abs);
    if (got.sha256 !== f.sha256) throw new SnapshotError(`snapshot ${manifest.id}: ${f.path} checksum mismatch (sha256 ${got.sha256.slice(0, 12)}…, expected ${f.sha256.slice(0, 12)}…)`);
  }
}

/** Writes a file via temp + fsync + rename, so readers see the old or the new content, never half. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* not supported on every platform/filesystem: best effort */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

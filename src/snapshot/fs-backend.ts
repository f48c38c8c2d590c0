import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SnapshotBackend } from './backend.ts';
import { MANIFEST_FILE, SnapshotError, fsyncDir, parseManifest, snapshotIdSchema, writeFileAtomic, type SnapshotManifest } from './manifest.ts';

const LATEST_FILE = 'LATEST';
const TMP_PREFIX = '.tmp-';

/**
 * Snapshots in a directory: `<root>/<id>/…files…`, `<root>/<id>/manifest.json`, `<root>/LATEST`.
 * A snapshot is assembled in `<root>/.tmp-<id>-<pid>/`, fsynced, then renamed into place (one
 * atomic step on a POSIX filesystem, NFS included); LATEST is replaced atomically afterwards.
 */
export class FsSnapshotBackend implements SnapshotBackend {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  async publish(manifest: SnapshotManifest, sourceOf: (relPath: string) => string): Promise<void> {
    fs.mkdirSync(this.root, { recursive: true });
    const final = path.join(this.root, manifest.id);
    if (fs.existsSync(final)) throw new SnapshotError(`snapshot ${manifest.id} already exists at ${this.root}`);
    const tmp = path.join(this.root, `${TMP_PREFIX}${manifest.id}-${process.pid}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      for (const f of manifest.files) {
        const dest = path.join(tmp, ...f.path.split('/'));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        await copyDurably(sourceOf(f.path), dest);
      }
      writeFileAtomic(path.join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      fs.renameSync(tmp, final);
      fsyncDir(this.root);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    writeFileAtomic(path.join(this.root, LATEST_FILE), `${manifest.id}\n`);
  }

  async latestId(): Promise<string | null> {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.root, LATEST_FILE), 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return snapshotIdSchema.safeParse(text).success ? text : null;
  }

  async setLatest(id: string): Promise<void> {
    if (!snapshotIdSchema.safeParse(id).success || !this.readManifest(id)) throw new SnapshotError(`no complete snapshot ${id} at ${this.root}`);
    writeFileAtomic(path.join(this.root, LATEST_FILE), `${id}\n`);
  }

  async latest(): Promise<SnapshotManifest | null> {
    const id = await this.latestId();
    if (id) {
      const m = this.readManifest(id);
      if (m) return m;
    }
    // No pointer (or it names a snapshot that is gone): the newest complete one.
    const all = await this.list();
    return all[all.length - 1] ?? null;
  }

  async list(): Promise<SnapshotManifest[]> {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((n) => snapshotIdSchema.safeParse(n).success)
      .sort()
      .map((id) => this.readManifest(id))
      .filter((m): m is SnapshotManifest => m !== null);
  }

  private readManifest(id: string): SnapshotManifest | null {
    const file = path.join(this.root, id, MANIFEST_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return null; // incomplete or being removed
    }
    try {
      const m = parseManifest(text, file);
      return m.id === id ? m : null;
    } catch {
      return null;
    }
  }

  async download(id: string, relPath: string, destFile: string, signal?: AbortSignal): Promise<void> {
    await copyDurably(path.join(this.root, id, ...relPath.split('/')), destFile, signal);
  }

  async remove(id: string): Promise<void> {
    snapshotIdSchema.parse(id);
    const dir = path.join(this.root, id);
    fs.rmSync(path.join(dir, MANIFEST_FILE), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }

  async removeStaleUploads(maxAgeMs: number): Promise<string[]> {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const n of names.filter((x) => x.startsWith(TMP_PREFIX))) {
      const abs = path.join(this.root, n);
      try {
        if (Date.now() - fs.statSync(abs).mtimeMs < maxAgeMs) continue;
        fs.rmSync(abs, { recursive: true, force: true });
        removed.push(n);
      } catch {
        /* raced with its owner or another GC */
      }
    }
    return removed;
  }
}

async function copyDurably(from: string, to: string, signal?: AbortSignal): Promise<void> {
  await pipeline(fs.createReadStream(from, { highWaterMark: 1 << 20 }), fs.createWriteStream(to), { signal });
  const fd = fs.openSync(to, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

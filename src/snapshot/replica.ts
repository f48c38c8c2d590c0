import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import type { Embedder } from '../embeddings/types.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { openRetriever } from '../retrieval/open.ts';
import { openStore } from '../store/index.ts';
import type { SnapshotBackend } from './backend.ts';
import { GenerationSwitch, type Generation } from './generations.ts';
import { MANIFEST_FILE, SnapshotError, parseManifest, snapshotIdSchema, verifyFiles, writeFileAtomic, type SnapshotManifest } from './manifest.ts';

const CURRENT_FILE = 'CURRENT';
const STAGING_PREFIX = '.staging-';
const MAX_RETRY_MS = 15 * 60_000;

export interface ReplicaOptions {
  config: Config;
  backend: SnapshotBackend;
  /** Query embedder shared by every generation (the model is loaded once per process). */
  embedder: Embedder;
  log?: Logger;
  pollIntervalMs?: number;
}

export interface ReplicaStatus {
  source: string;
  snapshot: { id: string; created_at: string; bytes: number; swapped_at: string } | null;
  last_poll_at: string | null;
  last_error: { message: string; at: string; snapshot: string | null; retry_at: string | null } | null;
  /** The last update: bytes fetched from the source vs reused from the local copy (identical files). */
  last_fetch: { snapshot: string; downloaded_bytes: number; reused_bytes: number; seconds: number } | null;
  swaps: number;
  /** Failed updates (download, checksum or open) since start. */
  failures: number;
}

/**
 * A serving replica's side of snapshots: keeps local copies under <data_dir>/replica/<id>/,
 * polls the source for a newer LATEST, downloads it to a staging folder, verifies every file's
 * size and SHA-256, renames it into place, opens it (store + index readers) and swaps it in
 * through the GenerationSwitch. A failed download/verify/open leaves the current one serving
 * and is retried on the next poll. Local copies no longer open are deleted.
 */
export class Replica {
  readonly switch: GenerationSwitch;
  private readonly root: string;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private manifest: SnapshotManifest | null = null;
  private swappedAt: string | null = null;
  private lastPollAt: string | null = null;
  private lastError: ReplicaStatus['last_error'] = null;
  private lastFetch: ReplicaStatus['last_fetch'] = null;
  private swaps = 0;
  private failures = 0;
  // Backoff per failing snapshot: a corrupt 10 GiB snapshot is not re-downloaded every poll.
  private failed: { id: string; count: number; retryAt: number } | null = null;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<boolean> | null = null;
  private stopped = false;

  constructor(private readonly opts: ReplicaOptions) {
    this.root = path.join(opts.config.data_dir, 'replica');
    this.log = opts.log ?? silentLogger;
    this.intervalMs = opts.pollIntervalMs ?? opts.config.snapshot.poll_interval_ms;
    this.switch = new GenerationSwitch({ onClosed: () => this.removeUnusedCopies() });
  }

  get ready(): boolean {
    return this.switch.currentId !== null;
  }

  status(): ReplicaStatus {
    const m = this.manifest;
    return {
      source: this.opts.backend.location,
      snapshot: m && this.swappedAt ? { id: m.id, created_at: m.created_at, bytes: m.bytes, swapped_at: this.swappedAt } : null,
      last_poll_at: this.lastPollAt,
      last_error: this.lastError,
      last_fetch: this.lastFetch,
      swaps: this.swaps,
      failures: this.failures,
    };
  }

  /**
   * Opens the local copy a previous run served (a restart serves at once, even with the source
   * unreachable), else waits for the first snapshot at the source; then polls in the background.
   * Resolves once a generation is open; rejects only when stopped before that.
   */
  async start(): Promise<void> {
    fs.mkdirSync(this.root, { recursive: true });
    this.removeStaging();
    await this.openLocal();
    for (let waits = 0; !this.ready; waits++) {
      if (this.stopped) throw new Error('replica stopped before its first snapshot arrived');
      await this.poll();
      if (!this.ready) {
        if (waits === 0) this.log.info({ source: this.opts.backend.location }, 'waiting for the first snapshot');
        await new Promise((r) => setTimeout(r, this.intervalMs));
      }
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.poll().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One check of the source; resolves true when a new snapshot was swapped in. Never rejects. */
  poll(): Promise<boolean> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<boolean> {
    let target: SnapshotManifest | null = null;
    try {
      target = await this.opts.backend.latest();
      this.lastPollAt = new Date().toISOString();
      if (!target || target.id === this.manifest?.id) return false;
      if (this.failed?.id === target.id && Date.now() < this.failed.retryAt) return false;
      const dir = await this.fetch(target);
      await this.open(dir, target);
      writeFileAtomic(path.join(this.root, CURRENT_FILE), `${target.id}\n`);
      this.lastError = null;
      this.failed = null;
      this.removeUnusedCopies();
      return true;
    } catch (err) {
      const message = (err as Error).message;
      this.failures++;
      let retryAt: number | null = null;
      if (target) {
        const count = this.failed?.id === target.id ? this.failed.count + 1 : 1;
        retryAt = Date.now() + Math.min(MAX_RETRY_MS, this.intervalMs * 2 ** count);
        this.failed = { id: target.id, count, retryAt };
      }
      this.lastError = { message, at: new Date().toISOString(), snapshot: target?.id ?? null, retry_at: retryAt ? new Date(retryAt).toISOString() : null };
      this.log.error({ err: message, snapshot: target?.id ?? null, serving: this.manifest?.id ?? null }, 'snapshot update failed; the current one keeps serving');
      return false;
    }
  }

  /**
   * Downloads into a staging folder, verifies every file, renames into place. Immutable files
   * identical to the served copy's (same path, size and SHA-256: an index version that did not
   * change) are hard-linked (or copied) locally instead of fetched; the store never is (the
   * replica writes to its copy). Verification covers every file either way.
   */
  private async fetch(m: SnapshotManifest): Promise<string> {
    const final = path.join(this.root, m.id);
    const staging = path.join(this.root, `${STAGING_PREFIX}${m.id}-${process.pid}`);
    fs.rmSync(staging, { recursive: true, force: true });
    const t0 = performance.now();
    const current = this.manifest;
    const currentDir = current ? path.join(this.root, current.id) : null;
    let downloaded = 0;
    let reused = 0;
    try {
      for (const f of m.files) {
        if (this.abort.signal.aborted) throw new SnapshotError('replica stopping: download abandoned');
        const dest = path.join(staging, ...f.path.split('/'));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        const same = f.path !== m.store && current?.files.some((c) => c.path === f.path && c.sha256 === f.sha256 && c.bytes === f.bytes);
        if (same && currentDir && reuseLocal(path.join(currentDir, ...f.path.split('/')), dest)) {
          reused += f.bytes;
          continue;
        }
        await this.opts.backend.download(m.id, f.path, dest, this.abort.signal);
        downloaded += f.bytes;
      }
      await verifyFiles(staging, m);
      fs.writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(m, null, 2)}\n`);
      fs.rmSync(final, { recursive: true, force: true }); // a leftover of a crash between rename and CURRENT
      fs.renameSync(staging, final);
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    const seconds = Math.round(performance.now() - t0) / 1000;
    this.lastFetch = { snapshot: m.id, downloaded_bytes: downloaded, reused_bytes: reused, seconds };
    this.log.info({ snapshot: m.id, bytes: m.bytes, downloaded_bytes: downloaded, reused_bytes: reused, seconds }, 'snapshot downloaded and verified');
    return final;
  }

  /** Opens a verified local copy and makes it current. */
  private async open(dir: string, m: SnapshotManifest): Promise<void> {
    const gen = await openGeneration(this.opts.config, dir, m, this.opts.embedder, this.log);
    const previous = this.manifest?.id ?? null;
    this.switch.swap(gen);
    this.manifest = m;
    this.swappedAt = new Date().toISOString();
    this.swaps++;
    this.log.info({ snapshot: m.id, previous, versions: m.versions }, 'now serving snapshot');
  }

  private async openLocal(): Promise<void> {
    let id: string;
    try {
      id = fs.readFileSync(path.join(this.root, CURRENT_FILE), 'utf8').trim();
    } catch {
      return;
    }
    if (!snapshotIdSchema.safeParse(id).success) return;
    const dir = path.join(this.root, id);
    try {
      const m = parseManifest(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'), dir);
      // The store was opened read-write (WAL, key usage), so its bytes legitimately changed; the
      // index files are immutable and must still match exactly (sizes: cheap at every start).
      await verifyFiles(dir, { ...m, files: m.files.filter((f) => f.path !== m.store) }, { sizesOnly: true });
      await this.open(dir, m);
    } catch (err) {
      this.log.warn({ snapshot: id, err: (err as Error).message }, 'local snapshot copy unusable; fetching from the source');
    }
  }

  /** Deletes local copies (and staging leftovers) that no generation has open. */
  private removeUnusedCopies(): void {
    // The served copy stays even after stop(): a restart serves it at once.
    const open = new Set([...this.switch.openIds(), ...(this.manifest ? [this.manifest.id] : [])]);
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch {
      return;
    }
    for (const n of names) {
      if (!snapshotIdSchema.safeParse(n).success || open.has(n)) continue;
      fs.rmSync(path.join(this.root, n), { recursive: true, force: true });
      this.log.info({ snapshot: n }, 'removed an old local snapshot copy');
    }
  }

  private removeStaging(): void {
    for (const n of fs.readdirSync(this.root)) if (n.startsWith(STAGING_PREFIX)) fs.rmSync(path.join(this.root, n), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(); // a download in progress is abandoned (its staging folder removed)
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.switch.closeAll();
  }
}

/** Opens a snapshot folder as a generation: its own store handle and index readers. */
export async function openGeneration(config: Config, dir: string, m: SnapshotManifest, embedder: Embedder, log: Logger): Promise<Generation> {
  const db = openStore(path.join(dir, m.store));
  try {
    const opened = await openRetriever({ ...config, data_dir: dir }, db, log, { watch: false, embedder });
    const st = opened.reader.status();
    if (st.activeVersion !== null && st.version === null) {
      await opened.close();
      throw new SnapshotError(`snapshot ${m.id}: index version ${st.activeVersion} failed to load: ${st.error?.message ?? 'unknown error'}`);
    }
    return {
      id: m.id,
      db,
      retriever: opened.retriever,
      status: () => {
        const s = opened.reader.status();
        return { ...s, loaded: s.version !== null };
      },
      close: async () => {
        await opened.close();
        db.close();
      },
    };
  } catch (err) {
    if (db.open) db.close();
    throw err;
  }
}

/** Hard link (same filesystem, no extra space) or copy of a local immutable file; false if it is gone. */
function reuseLocal(from: string, to: string): boolean {
  try {
    fs.linkSync(from, to);
    return true;
  } catch {
    try {
      fs.copyFileSync(from, to);
      return true;
    } catch {
      return false;
    }
  }
}

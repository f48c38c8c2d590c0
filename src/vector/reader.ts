import path from 'node:path';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { HnswIndex, type HnswHit } from './hnsw.ts';
import { activeVersion, type IndexVersion } from './versions.ts';

export interface DenseIndexReaderOptions {
  db: DB;
  dataDir: string;
  efSearch: number;
  /** Period of the background check for a newly activated version (start()). */
  reloadIntervalMs: number;
  log?: Logger;
}

export interface DenseIndexStatus {
  /** Version being served (null: none loaded — the dense leg is unavailable). */
  version: number | null;
  model: string | null;
  dim: number | null;
  vectors: number;
  loadedAt: string | null;
  /** Version that is active in SQLite (may differ while a newer one loads or failed to load). */
  activeVersion: number | null;
  loading: boolean;
  /** Last load failure, cleared by the next successful load. */
  error: { version: number; file: string; message: string; at: string } | null;
}

interface Loaded {
  version: IndexVersion;
  index: HnswIndex;
  loadedAt: string;
}

const MAX_RETRY_MS = 5 * 60_000;

/**
 * Serves searches from the active dense index version and hot-swaps to a newly activated one:
 * the new file is read on the thread pool, then the reference is replaced in one assignment,
 * so a search always runs against one complete version. A version that fails to load (missing
 * or corrupt file) leaves the previous one serving; the error shows in status() and the load
 * is retried with backoff.
 */
export class DenseIndexReader {
  private readonly db: DB;
  private readonly dataDir: string;
  private readonly efSearch: number;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private current: Loaded | null = null;
  private inflight: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastError: DenseIndexStatus['error'] = null;
  private failures = 0;
  private retryAt = 0;
  private failedVersion: number | null = null;
  private active: number | null = null;

  constructor(opts: DenseIndexReaderOptions) {
    this.db = opts.db;
    this.dataDir = opts.dataDir;
    this.efSearch = opts.efSearch;
    this.intervalMs = opts.reloadIntervalMs;
    this.log = opts.log ?? silentLogger;
  }

  /** True when a version is loaded and searches can return results. */
  get ready(): boolean {
    return this.current !== null;
  }

  /**
   * The k nearest chunk ids (labels) to `vector`, best first. Returns [] when no version is
   * loaded (check `ready`/status() to tell "no index" from "no match").
   */
  search(vector: Float32Array | readonly number[], k: number, filter?: (label: number) => boolean): HnswHit[] {
    const loaded = this.current; // one read: a concurrent swap cannot mix versions
    if (!loaded) return [];
    return loaded.index.search(vector, k, filter);
  }

  /**
   * Loads the active version if it differs from the one served. Cheap when nothing changed
   * (one indexed SQL read). Resolves true when a new version was swapped in; never rejects.
   */
  maybeReload(opts: { force?: boolean } = {}): Promise<boolean> {
    if (this.inflight) return this.inflight;
    let target: IndexVersion | null;
    try {
      target = activeVersion(this.db);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'dense index reader: cannot read the active version');
      return Promise.resolve(false);
    }
    this.active = target?.id ?? null;
    if (!target || target.id === this.current?.version.id) {
      if (target && this.lastError && this.lastError.version !== target.id) this.lastError = null; // rolled back to the served one
      return Promise.resolve(false);
    }
    if (!opts.force && target.id === this.failedVersion && Date.now() < this.retryAt) return Promise.resolve(false);
    this.inflight = this.load(target).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async load(version: IndexVersion): Promise<boolean> {
    const file = path.join(this.dataDir, version.file);
    try {
      const index = await HnswIndex.loadAsync(file, version.dim, { liveCount: version.vectors, efSearch: this.efSearch });
      const previous = this.current?.version.id ?? null;
      this.current = { version, index, loadedAt: new Date().toISOString() };
      this.lastError = null;
      this.failures = 0;
      this.failedVersion = null;
      this.log.info({ version: version.id, previous, model: version.model_id, vectors: version.vectors }, 'dense index version loaded');
      return true;
    } catch (err) {
      const message = (err as Error).message;
      this.failures = version.id === this.failedVersion ? this.failures + 1 : 1;
      this.failedVersion = version.id;
      this.retryAt = Date.now() + Math.min(MAX_RETRY_MS, this.intervalMs * 2 ** this.failures);
      this.lastError = { version: version.id, file: version.file, message, at: new Date().toISOString() };
      this.log.error({ version: version.id, file: version.file, err: message, serving: this.current?.version.id ?? null }, 'dense index version failed to load');
      return false;
    }
  }

  /** Loads the current version now and checks for new ones every reloadIntervalMs. */
  async start(): Promise<void> {
    await this.maybeReload();
    if (this.timer) return;
    this.timer = setInterval(() => void this.maybeReload(), this.intervalMs);
    this.timer.unref(); // the check alone must not keep a process alive
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  status(): DenseIndexStatus {
    const c = this.current;
    return {
      version: c?.version.id ?? null,
      model: c?.version.model_id ?? null,
      dim: c?.version.dim ?? null,
      vectors: c?.version.vectors ?? 0,
      loadedAt: c?.loadedAt ?? null,
      activeVersion: this.active,
      loading: this.inflight !== null,
      error: this.lastError,
    };
  }
}

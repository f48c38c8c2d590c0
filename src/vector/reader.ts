import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import type { HnswIndex, HnswHit } from './hnsw.ts';
import { activeVersion, listVersions, type IndexVersion } from './versions.ts';
import { loadVersionAsync } from './verify.ts';
import { IndexFileError } from './file-format.ts';

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
  /**
   * Set while an older version is served (or none) because the active one failed verification:
   * dense results then miss the chunks indexed since, which BM25 still finds.
   */
  fallback?: { activeVersion: number; servingVersion: number | null; reason: string; since: string } | null;
  /** How the served file was verified: its recorded SHA-256, or structure only (written before checksums). */
  verified?: 'checksum' | 'structure_only' | null;
}

interface Loaded {
  version: IndexVersion;
  index: HnswIndex;
  loadedAt: string;
}

type Fallback = NonNullable<DenseIndexStatus['fallback']>;

const MAX_RETRY_MS = 5 * 60_000;

/**
 * Serves searches from the active dense index version and hot-swaps to a newly activated one:
 * the new file is read on the thread pool, then the reference is replaced in one assignment,
 * so a search always runs against one complete version. Every file is verified (recorded
 * SHA-256 + graph structure) before hnswlib reads it. A version that fails (missing, truncated or
 * corrupt file) is never loaded: the newest older version of the same model whose file verifies
 * serves instead, or none (BM25 only); status() says which and why, and the active version is
 * retried with backoff (a restored file or a rebuilt version is picked up).
 *
 * Why an older version is safe to serve: labels are chunk ids, which are never reused
 * (AUTOINCREMENT), and a changed document gets new chunks. So an old file's labels point either
 * to the same chunk text they were embedded from or to a chunk that no longer exists, which
 * hydration drops. Results are incomplete (newer chunks are BM25-only), never wrong.
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
  private fallback: Fallback | null = null;

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
      if (target && this.lastError && this.lastError.version !== target.id) {
        this.lastError = null; // rolled back to the served one
        this.fallback = null;
      }
      return Promise.resolve(false);
    }
    if (!opts.force && target.id === this.failedVersion && Date.now() < this.retryAt) return Promise.resolve(false);
    this.inflight = this.load(target).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async load(version: IndexVersion): Promise<boolean> {
    try {
      const index = await loadVersionAsync(this.dataDir, version, this.efSearch);
      const previous = this.current?.version.id ?? null;
      this.current = { version, index, loadedAt: new Date().toISOString() };
      this.lastError = null;
      this.failures = 0;
      this.failedVersion = null;
      if (this.fallback) this.log.info({ version: version.id, was_serving: this.fallback.servingVersion }, 'dense index recovered: serving the active version again');
      this.fallback = null;
      this.log.info({ version: version.id, previous, model: version.model_id, vectors: version.vectors, verified: version.sha256 ? 'checksum' : 'structure_only' }, 'dense index version loaded');
      return true;
    } catch (err) {
      // Without the path: status() reaches API callers through the retriever's `degraded` notes.
      const message = err instanceof IndexFileError ? err.detail : (err as Error).message;
      this.failures = version.id === this.failedVersion ? this.failures + 1 : 1;
      this.failedVersion = version.id;
      this.retryAt = Date.now() + Math.min(MAX_RETRY_MS, this.intervalMs * 2 ** this.failures);
      this.lastError = { version: version.id, file: version.file, message, at: new Date().toISOString() };
      const swapped = await this.fallBack(version, message);
      this.log.error(
        { version: version.id, file: version.file, err: message, serving: this.current?.version.id ?? null, recovery: 'kb index rebuild (or restore the file from a backup)' },
        this.current ? `dense index version ${version.id} failed verification or loading: serving version ${this.current.version.id} instead` : `dense index version ${version.id} failed verification or loading: no valid version, retrieval runs on BM25 only`,
      );
      return swapped;
    }
  }

  /** After `failed` could not be loaded: keep or load the newest older verified version of its model. */
  private async fallBack(failed: IndexVersion, reason: string): Promise<boolean> {
    const since = this.fallback?.activeVersion === failed.id ? this.fallback.since : new Date().toISOString();
    const sameLineage = (v: IndexVersion) => v.model_id === failed.model_id && v.dim === failed.dim && v.id < failed.id;
    const cur = this.current;
    if (cur && sameLineage(cur.version)) {
      this.fallback = { activeVersion: failed.id, servingVersion: cur.version.id, reason, since };
      return false;
    }
    let candidates: IndexVersion[];
    try {
      candidates = listVersions(this.db).filter(sameLineage).sort((a, b) => b.id - a.id);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'dense index reader: cannot list older versions');
      candidates = [];
    }
    for (const c of candidates) {
      try {
        const index = await loadVersionAsync(this.dataDir, c, this.efSearch);
        this.current = { version: c, index, loadedAt: new Date().toISOString() };
        this.fallback = { activeVersion: failed.id, servingVersion: c.id, reason, since };
        return true;
      } catch (err) {
        this.log.warn({ version: c.id, file: c.file, err: (err as Error).message }, 'older dense index version is not usable either');
      }
    }
    // Nothing of this lineage verifies: whatever is served (another model's version, which the
    // retriever refuses for a mismatched embedder) stays; else the dense leg is off.
    this.fallback = { activeVersion: failed.id, servingVersion: this.current?.version.id ?? null, reason, since };
    return false;
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
      fallback: this.fallback,
      verified: c ? (c.version.sha256 ? 'checksum' : 'structure_only') : null,
    };
  }
}

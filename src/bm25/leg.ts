import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { DB } from '../store/index.ts';
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import type { DocMaskSpec } from '../retrieval/catalog.ts';
import { toSql } from '../retrieval/filters.ts';
import { matchAnyTerm, searchBm25 } from './index.ts';
import { compileDocFilter, isRestricted } from './filter.ts';
import { Bm25Segment, type SearchCounters, type SearchHit } from './segment.ts';
import { activeBm25Version, type Bm25Version } from './versions.ts';
import { LruCache } from '../util/lru.ts';
import { FTS5_BM25, describeBm25Params, sameBm25Params, type Bm25Params } from './scoring.ts';

// The BM25 leg as the retriever (and a worker thread) calls it:
//   search(analysedTerms, k, filterSpec) → [{ chunkId, score }] ranked by score desc, chunk id asc.
// It serves the active engine version (verified against its SHA-256 before first use), masks the
// chunks removed since that version was built (bm25_removed: the live-docs set) and applies
// filters/ACL inside the traversal. Without a usable version (none built yet, file missing or
// corrupt, no data_dir) it answers from FTS5 — exhaustive, slower, same scores — so a bad file
// degrades speed, never results or availability. A server's leg (`background`) loads a newly
// activated large version beside the one in use and swaps when it is verified and decoded, so the
// weekly switch holds requests for a few ms at a time, not for the whole load (≈ 1.3 s at 1M chunks).
//
// Score statistics (N, avgdl, df) are those of the version's file: a chunk removed since it was
// built is masked but still counts in them until the next version (the ingestion run's end).
// Between runs the file holds exactly the live chunks, so the scores are FTS5's to the last bit
// of float rounding; chunks added by a running ingestion become searchable when it completes.
//
// k1/b: a version file is computed with fixed k1/b (norms and block maxima depend on them). When
// the configured values differ from the loaded file's (the config changed since the last build),
// the leg still serves the file and `paramsIssue()` says so — every answer carries it in
// `degraded`, `kb bm25 status` names it, and the next `kb bm25 build` / ingestion run rebuilds.
// The alternatives are worse: FTS5 cannot apply other k1/b either (SQLite's bm25() fixes 1.2 /
// 0.75) and is 50-100× slower at scale, so falling back would cost latency for no gain; and
// rebuilding on start would make every server process and retrieval worker a writer of index
// versions (the ingestion lock, a build's memory and minutes at 1M chunks, racing replicas) when
// the served file is still an exact, self-consistent BM25 ranking — just with the old k1/b.

export interface Bm25LegOptions {
  db: DB;
  /** data_dir holding bm25/ (null: FTS5 only). */
  dataDir: string | null;
  log?: Logger;
  /** Look for a newly activated version at most this often (ms). Default 1000. */
  reloadIntervalMs?: number;
  /** The configured k1/b (`retrieval.bm25`, bm25ParamsOf). Default FTS5's 1.2 / 0.75. */
  params?: Bm25Params;
  /**
   * Load a newly activated version of at least `backgroundMinBytes` in the background (file read
   * off the thread, checksum and decoding in slices) and keep answering from the one in use until
   * it is ready — what a server wants: loading 1M chunks takes ≈ 1.3 s, 3M ≈ 4 s. Default false:
   * the search that notices the new version loads it (one-shot commands). The first version, and
   * a smaller file, load at once: an upload's chunks are then searchable by the next question.
   */
  background?: boolean;
  /** Smallest version file loaded in the background (default 16 MiB ≈ 90k chunks, a ≈ 0.1 s load). */
  backgroundMinBytes?: number;
}

const BACKGROUND_MIN_BYTES = 16 * 2 ** 20;

export interface Bm25LegStatus {
  /** Active engine version in use (null: answering from FTS5). */
  version: number | null;
  docs: number;
  /** Why the last load failed, if it did. */
  error: { version: number; message: string } | null;
  /** k1/b of the scores served now: the loaded file's, or FTS5's fixed ones. */
  params: Bm25Params;
  /** Why the served k1/b are not the configured ones (null: they are). */
  params_issue: string | null;
}

interface Loaded {
  version: Bm25Version;
  segment: Bm25Segment;
  dead: Uint8Array;
  deadCount: number;
  lastSeq: number;
  /**
   * Filters seen more than once, materialised as "blocked" bitmaps (1 = deleted or not allowed),
   * by the spec's JSON. An API key sends the same ACL groups with every request, so its filter
   * becomes one array load per candidate instead of a predicate over the row columns (measured:
   * bench/bm25.ts, ACL scope at 1M). A one-off filter (a date range) stays a predicate: building
   * a bitmap costs a pass over every document.
   */
  masks: LruCache<string, FilterMask>;
}

interface FilterMask {
  uses: number;
  blocked: Uint8Array | null;
}

/** Bitmaps kept per loaded version: one byte per document each (8 MiB at 1M chunks). */
const MASK_CACHE = 8;

export class Bm25Leg {
  private readonly db: DB;
  private readonly dataDir: string | null;
  private readonly log: Logger;
  private readonly interval: number;
  private readonly params: Bm25Params;
  private readonly background: boolean;
  private readonly backgroundMinBytes: number;
  private loading: Promise<void> | null = null;
  private loaded: Loaded | null = null;
  private failed: { version: number; message: string } | null = null;
  private checkedAt = -Infinity;
  private readonly removedSince;

  constructor(opts: Bm25LegOptions) {
    this.db = opts.db;
    this.dataDir = opts.dataDir;
    this.log = opts.log ?? silentLogger;
    this.interval = opts.reloadIntervalMs ?? 1000;
    this.params = opts.params ?? FTS5_BM25;
    this.background = opts.background ?? false;
    this.backgroundMinBytes = opts.backgroundMinBytes ?? BACKGROUND_MIN_BYTES;
    this.removedSince = this.db.prepare('SELECT seq, chunk_id FROM bm25_removed WHERE seq > ? ORDER BY seq').raw(true);
  }

  status(): Bm25LegStatus {
    const seg = this.loaded?.segment;
    return {
      version: this.loaded?.version.id ?? null,
      docs: seg?.docs ?? 0,
      error: this.failed,
      params: seg ? { k1: seg.k1, b: seg.b } : FTS5_BM25,
      params_issue: this.paramsIssue(),
    };
  }

  /**
   * Null when the scores served use the configured k1/b; otherwise why not, in words for
   * `degraded` (no paths). Checks for a new version like a search does.
   */
  paramsIssue(): string | null {
    this.maybeReload();
    const seg = this.loaded?.segment;
    const want = this.params;
    if (seg) {
      const have = { k1: seg.k1, b: seg.b };
      if (sameBm25Params(have, want)) return null;
      return `bm25 params differ, rebuild: the BM25 index version ${this.loaded!.version.id} was built with ${describeBm25Params(have)}, the configuration says ${describeBm25Params(want)}; it is served as built until \`kb bm25 build\` or the next ingestion run rebuilds it`;
    }
    if (sameBm25Params(FTS5_BM25, want)) return null;
    return `bm25 params not applied: no usable BM25 engine version, so FTS5 answers and its bm25() fixes ${describeBm25Params(FTS5_BM25)} (the configuration says ${describeBm25Params(want)}); run \`kb bm25 build\``;
  }

  /** The loaded engine version (null: FTS5 answers). Checks for a new version at most every reloadIntervalMs. */
  segment(): Bm25Segment | null {
    this.maybeReload();
    return this.loaded?.segment ?? null;
  }

  /** Document frequency of each term (absent terms omitted) and N, from the engine or FTS5. */
  termStats(terms: readonly string[]): { df: Map<string, number>; docs: number } {
    const seg = this.segment();
    const df = new Map<string, number>();
    if (seg) {
      for (const t of new Set(terms)) {
        const n = seg.df(t);
        if (n > 0) df.set(t, n);
      }
      return { df, docs: seg.docs };
    }
    const unique = [...new Set(terms)];
    if (unique.length > 0) {
      const rows = this.db.prepare(`SELECT term, doc FROM chunks_fts_vocab WHERE term IN (${unique.map(() => '?').join(',')})`).all(...unique) as { term: string; doc: number }[];
      for (const r of rows) df.set(r.term, r.doc);
    }
    return { df, docs: this.db.prepare('SELECT count(*) FROM chunks_fts').pluck().get() as number };
  }

  /**
   * Exact BM25 top-k over analysed terms (OR), restricted to what `spec` allows (null: no
   * filter, unrestricted caller).
   */
  search(terms: readonly string[], k: number, spec: DocMaskSpec | null = null, counters?: SearchCounters): SearchHit[] {
    if (!Number.isInteger(k) || k < 0) throw new Error(`k must be a non-negative integer, got ${k}`);
    if (k === 0 || terms.length === 0) return [];
    this.maybeReload();
    const l = this.loaded;
    if (!l) {
      const expr = matchAnyTerm(terms);
      if (!expr) return [];
      return searchBm25(this.db, expr, k, isRestricted(spec) ? toSql(spec) : undefined).map((h) => ({ chunkId: h.chunkId, score: h.score }));
    }
    this.applyRemovals(l);
    const dead = l.deadCount > 0 ? l.dead : null;
    if (!isRestricted(spec)) return l.segment.search(terms, k, { blocked: dead, counters });
    const key = JSON.stringify(spec);
    let mask = l.masks.get(key);
    if (!mask) l.masks.set(key, (mask = { uses: 0, blocked: null }));
    if (!mask.blocked && ++mask.uses >= 2) mask.blocked = materialise(l, compileDocFilter(l.segment, spec)!);
    if (mask.blocked) return l.segment.search(terms, k, { blocked: mask.blocked, counters });
    return l.segment.search(terms, k, { allowed: compileDocFilter(l.segment, spec), blocked: dead, counters });
  }

  /** Loads the active version now if it is not the one in use (startup, tests). */
  reload(): void {
    this.checkedAt = -Infinity;
    this.maybeReload();
  }

  /** Resolves when a background load in progress has finished (tests). */
  settled(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  private maybeReload(): void {
    if (!this.dataDir) return;
    const now = performance.now();
    if (now - this.checkedAt < this.interval) return;
    this.checkedAt = now;
    const active = activeBm25Version(this.db);
    if (!active) {
      this.loaded = null;
      return;
    }
    if (this.loaded?.version.id === active.id || this.failed?.version === active.id) return;
    const file = path.join(this.dataDir, active.file);
    if (this.background && this.loaded && active.bytes >= this.backgroundMinBytes) {
      // The version in use keeps answering; the new one replaces it once loaded and verified.
      this.loading ??= readAndOpen(file, active)
        .then(
          (segment) => this.install(active, segment),
          (err: unknown) => this.fail(active, err),
        )
        .finally(() => {
          this.loading = null;
          this.checkedAt = -Infinity; // look again at once: another version may have been activated meanwhile
        });
      return;
    }
    try {
      const buf = fs.readFileSync(file);
      checkDigest(crypto.createHash('sha256').update(buf).digest('hex'), active);
      this.install(active, new Bm25Segment(buf, active.file));
    } catch (err) {
      this.fail(active, err);
    }
  }

  private install(active: Bm25Version, segment: Bm25Segment): void {
    if (segment.docs !== active.docs) return this.fail(active, new Error(`file holds ${segment.docs} chunks, SQLite records ${active.docs}`));
    this.loaded = { version: active, segment, dead: new Uint8Array(segment.docs), deadCount: 0, lastSeq: active.removed_seq, masks: new LruCache(MASK_CACHE) };
    this.failed = null;
    this.log.info({ version: active.id, docs: segment.docs, terms: segment.terms.length }, 'BM25 index version loaded');
  }

  private fail(active: Bm25Version, err: unknown): void {
    // FTS5 is always complete and current; an older version would miss the newer chunks.
    // The next activated version is tried again.
    this.failed = { version: active.id, message: (err as Error).message };
    this.loaded = null;
    this.log.error({ version: active.id, file: active.file, err: (err as Error).message }, 'BM25 index file unusable: answering from FTS5');
  }

  private applyRemovals(l: Loaded): void {
    for (const [seq, chunkId] of this.removedSince.iterate(l.lastSeq) as Iterable<[number, number]>) {
      const doc = l.segment.docOf(chunkId);
      if (doc >= 0 && !l.dead[doc]) {
        l.dead[doc] = 1;
        l.deadCount++;
        for (const m of l.masks.values()) if (m.blocked) m.blocked[doc] = 1;
      }
      l.lastSeq = seq;
    }
  }
}

/** Throws unless the file's SHA-256 is the one recorded for the version. */
function checkDigest(sha: string, active: Bm25Version): void {
  if (sha !== active.sha256) throw new Error(`checksum mismatch (file ${sha.slice(0, 12)}…, recorded ${active.sha256.slice(0, 12)}…): the file is corrupt`);
}

/** Bytes hashed between two yields of readAndOpen (≈ 10–30 ms of work). */
const HASH_SLICE = 16 * 2 ** 20;

/** The background load: the file read on libuv's pool, then checksum and decoding in slices (exported for bench/bm25.ts). */
export async function readAndOpen(file: string, active: Bm25Version): Promise<Bm25Segment> {
  const buf = await fs.promises.readFile(file);
  const hash = crypto.createHash('sha256');
  for (let at = 0; at < buf.length; at += HASH_SLICE) {
    hash.update(buf.subarray(at, at + HASH_SLICE));
    await yieldToEventLoop();
  }
  checkDigest(hash.digest('hex'), active);
  return Bm25Segment.open(buf, active.file);
}

/** The blocked bitmap of a filter: 1 where the document is deleted or the predicate refuses it. */
function materialise(l: Loaded, allowed: (doc: number) => boolean): Uint8Array {
  const blocked = new Uint8Array(l.segment.docs);
  const dead = l.dead;
  for (let d = 0; d < blocked.length; d++) if (dead[d] || !allowed(d)) blocked[d] = 1;
  return blocked;
}

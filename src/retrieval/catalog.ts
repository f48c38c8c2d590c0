import type { DB } from '../store/index.ts';
import type { DocumentKind } from '../config/index.ts';
import { cachedStatement } from '../store/statements.ts';

// In-memory catalog of the live (retrievable) chunks and their documents' filterable metadata,
// so the dense leg can test "may this label be returned?" inside the HNSW walk without touching
// SQLite. Typed arrays keep ~1M chunks at a few tens of MB and make the per-query document mask
// a tight loop.

export const KIND_CODES: readonly DocumentKind[] = ['news', 'comment', 'post'];
const kindCode = (k: string): number => {
  const i = (KIND_CODES as readonly string[]).indexOf(k);
  return i < 0 ? 255 : i;
};

/** Normalised filter in the catalog's terms (built by filters.ts). */
export interface DocMaskSpec {
  kinds?: readonly DocumentKind[];
  fromMs?: number;
  toMs?: number;
  tags?: readonly string[];
  sources?: readonly string[];
  /** null = no ACL restriction. */
  groups: readonly string[] | null;
}

/** Compressed-sparse-row list of small integer sets, one per document. */
class IdLists {
  constructor(
    readonly offsets: Uint32Array,
    readonly ids: Int32Array,
  ) {}
  static build(flat: number[], offsets: number[]): IdLists {
    return new IdLists(Uint32Array.from(offsets), Int32Array.from(flat));
  }
  anyIn(doc: number, wanted: Uint8Array): boolean {
    for (let i = this.offsets[doc]; i < this.offsets[doc + 1]; i++) if (wanted[this.ids[i]]) return true;
    return false;
  }
  count(doc: number): number {
    return this.offsets[doc + 1] - this.offsets[doc];
  }
}

class Dictionary {
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) this.ids.set(name, (id = this.ids.size));
    return id;
  }
  /** Membership mask over the dictionary for the given names (unknown names match nothing). */
  mask(names: readonly string[]): Uint8Array {
    const m = new Uint8Array(this.ids.size);
    for (const n of names) {
      const id = this.ids.get(n);
      if (id !== undefined) m[id] = 1;
    }
    return m;
  }
  get size(): number {
    return this.ids.size;
  }
}

function parseStringArray(json: string): string[] {
  if (json === '[]' || json === '') return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return []; // stored by our own ingestion as JSON; a corrupt value must not break retrieval
  }
}

/** Catalog snapshot of the store; rebuild with refresh() / refreshIfStale(). */
export class ChunkCatalog {
  // Documents (index = position in docIds, sorted ascending).
  private docIds = new Float64Array(0);
  private docKind = new Uint8Array(0);
  private docPublished = new Float64Array(0); // epoch ms, NaN = unknown
  private docSource = new Int32Array(0);
  private docTags = new IdLists(new Uint32Array(1), new Int32Array(0));
  private docAcl = new IdLists(new Uint32Array(1), new Int32Array(0));
  private sources = new Dictionary();
  private tags = new Dictionary();
  private groups = new Dictionary();
  // Live chunks (sorted by id) → document index; whether the chunk is in the active index.
  private chunkIds = new Float64Array(0);
  private chunkDoc = new Int32Array(0);
  private chunkIndexed = new Uint8Array(0);
  private docIndexedChunks = new Uint32Array(0);
  private indexedCount = 0;
  // Direct chunk id → position table when ids are compact (O(1) lookups in the HNSW filter).
  private direct: Int32Array | null = null;
  private signature: string | null = null;
  /** Incremented on every reload: derived caches (filter plans) are valid for one generation. */
  generation = 0;

  constructor(private readonly db: DB) {}

  /** Live chunks in the catalog. */
  get size(): number {
    return this.chunkIds.length;
  }

  /** Live chunks that are in the active dense index (vector_label set). */
  get indexedSize(): number {
    return this.indexedCount;
  }

  get loaded(): boolean {
    return this.signature !== null;
  }

  /**
   * What the catalog depends on: the active index version, the latest ingest run's state and the
   * highest document/chunk ids. All O(1)-ish lookups, cheap enough to check on every query.
   */
  private currentSignature(): string {
    const row = cachedStatement(
      this.db,
      `SELECT (SELECT coalesce(max(id), 0) FROM index_versions WHERE active = 1) AS v,
                (SELECT id || ':' || status || ':' || coalesce(finished_at, '') FROM ingest_runs ORDER BY id DESC LIMIT 1) AS r,
                (SELECT coalesce(max(id), 0) FROM documents) AS d,
                (SELECT coalesce(max(id), 0) FROM chunks) AS c`,
    ).get() as { v: number; r: string | null; d: number; c: number };
    return `${row.v}|${row.r ?? ''}|${row.d}|${row.c}`;
  }

  /** Reloads when the index version or an ingest run changed since the last load. */
  refreshIfStale(): boolean {
    if (this.signature !== null && this.signature === this.currentSignature()) return false;
    this.refresh();
    return true;
  }

  /** Full reload from SQLite (one read transaction, so documents and chunks agree). */
  refresh(): void {
    this.db.transaction(() => {
      const signature = this.currentSignature();
      this.loadDocuments();
      this.loadChunks();
      this.signature = signature;
      this.generation++;
    })();
  }

  private loadDocuments(): void {
    const ids: number[] = [];
    const kinds: number[] = [];
    const published: number[] = [];
    const sourceIds: number[] = [];
    const tagFlat: number[] = [];
    const tagOff: number[] = [0];
    const aclFlat: number[] = [];
    const aclOff: number[] = [0];
    const sources = new Dictionary();
    const tags = new Dictionary();
    const groups = new Dictionary();
    const stmt = this.db
      .prepare(`SELECT id, kind, published_at, source, tags, acl_groups FROM documents WHERE deleted_at IS NULL ORDER BY id`)
      .raw(true);
    for (const row of stmt.iterate() as Iterable<[number, string, string | null, string, string, string]>) {
      ids.push(row[0]);
      kinds.push(kindCode(row[1]));
      published.push(row[2] ? Date.parse(row[2]) : NaN);
      sourceIds.push(sources.id(row[3]));
      for (const t of parseStringArray(row[4])) tagFlat.push(tags.id(t));
      tagOff.push(tagFlat.length);
      for (const g of parseStringArray(row[5])) aclFlat.push(groups.id(g));
      aclOff.push(aclFlat.length);
    }
    this.docIds = Float64Array.from(ids);
    this.docKind = Uint8Array.from(kinds);
    this.docPublished = Float64Array.from(published);
    this.docSource = Int32Array.from(sourceIds);
    this.docTags = IdLists.build(tagFlat, tagOff);
    this.docAcl = IdLists.build(aclFlat, aclOff);
    this.sources = sources;
    this.tags = tags;
    this.groups = groups;
  }

  private docIndex(docId: number): number {
    let lo = 0;
    let hi = this.docIds.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.docIds[mid];
      if (v === docId) return mid;
      if (v < docId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private loadChunks(): void {
    const ids: number[] = [];
    const docs: number[] = [];
    const indexed: number[] = [];
    const stmt = this.db
      .prepare(`SELECT id, document_id, vector_label IS NOT NULL FROM chunks WHERE retired_at IS NULL ORDER BY id`)
      .raw(true);
    for (const row of stmt.iterate() as Iterable<[number, number, number]>) {
      const d = this.docIndex(row[1]);
      if (d < 0) continue; // document deleted: its chunks are not retrievable
      ids.push(row[0]);
      docs.push(d);
      indexed.push(row[2]);
    }
    this.chunkIds = Float64Array.from(ids);
    this.chunkDoc = Int32Array.from(docs);
    this.chunkIndexed = Uint8Array.from(indexed);
    const perDoc = new Uint32Array(this.docIds.length);
    for (let i = 0; i < docs.length; i++) perDoc[docs[i]] += indexed[i];
    this.docIndexedChunks = perDoc;
    this.indexedCount = indexed.reduce((a, b) => a + b, 0);
    const maxId = ids.length > 0 ? ids[ids.length - 1] : -1;
    if (maxId >= 0 && maxId < 4 * ids.length + 65_536) {
      const direct = new Int32Array(maxId + 1).fill(-1);
      for (let i = 0; i < ids.length; i++) direct[ids[i]] = i;
      this.direct = direct;
    } else {
      this.direct = null;
    }
  }

  /** Position of a live chunk in the catalog, -1 when unknown, retired or deleted. */
  position(chunkId: number): number {
    if (this.direct) return chunkId >= 0 && chunkId < this.direct.length ? this.direct[chunkId] : -1;
    let lo = 0;
    let hi = this.chunkIds.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.chunkIds[mid];
      if (v === chunkId) return mid;
      if (v < chunkId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  isLive(chunkId: number): boolean {
    return this.position(chunkId) >= 0;
  }

  /** 1 per document that passes the spec (a per-query mask, O(documents)). */
  documentMask(spec: DocMaskSpec): Uint8Array {
    const n = this.docIds.length;
    const mask = new Uint8Array(n);
    const kinds = spec.kinds ? new Set(spec.kinds.map(kindCode)) : null;
    const from = spec.fromMs ?? -Infinity;
    const to = spec.toMs ?? Infinity;
    const dated = spec.fromMs !== undefined || spec.toMs !== undefined;
    const sources = spec.sources ? this.sources.mask(spec.sources) : null;
    const tags = spec.tags ? this.tags.mask(spec.tags) : null;
    const groups = spec.groups ? this.groups.mask(spec.groups) : null;
    for (let d = 0; d < n; d++) {
      if (kinds && !kinds.has(this.docKind[d])) continue;
      if (dated) {
        const p = this.docPublished[d];
        if (!(p >= from && p <= to)) continue; // NaN (unknown date) fails a date filter
      }
      if (sources && !sources[this.docSource[d]]) continue;
      if (tags && !this.docTags.anyIn(d, tags)) continue;
      if (groups && this.docAcl.count(d) > 0 && !this.docAcl.anyIn(d, groups)) continue;
      mask[d] = 1;
    }
    return mask;
  }

  /** Label predicate for the dense leg: live chunk whose document passes the mask. */
  predicate(mask: Uint8Array): (label: number) => boolean {
    return (label) => {
      const p = this.position(label);
      return p >= 0 && mask[this.chunkDoc[p]] === 1;
    };
  }

  /** Live chunks in the active index whose document passes the mask: count, and ids when ≤ limit. */
  allowedIndexed(mask: Uint8Array, limit: number): { count: number; ids: number[] | null } {
    // Counting per document is O(documents); the O(chunks) scan runs only for a small set.
    let count = 0;
    for (let d = 0; d < mask.length; d++) if (mask[d]) count += this.docIndexedChunks[d];
    if (count > limit) return { count, ids: null };
    const ids: number[] = [];
    for (let i = 0; i < this.chunkIds.length; i++) {
      if (this.chunkIndexed[i] && mask[this.chunkDoc[i]] === 1) ids.push(this.chunkIds[i]);
    }
    return { count, ids };
  }
}

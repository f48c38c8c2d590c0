import { documentKinds, type DocumentKind } from '../config/index.ts';
import type { SqlFilter } from '../bm25/index.ts';
import type { ChunkCatalog, DocMaskSpec } from './catalog.ts';
import type { SearchFilters } from './types.ts';

// Compiles a request's filters + the caller's ACL groups once, into the two forms the legs need:
// an SQL WHERE fragment for BM25 (over aliases c = chunks, d = documents) and a label predicate
// for the dense leg (through the in-memory catalog). Both apply the same rules:
// - an empty list (kinds: []) is the same as no filter;
// - from/to are inclusive; a date-only `to` means the end of that day (UTC); a document without
//   published_at fails any date filter;
// - tags: the document carries ANY of them; sources: its source is one of them;
// - ACL: groups null = unrestricted; otherwise a document with [] groups is public and any other
//   is visible iff it shares a group with the caller.

export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterError';
  }
}


export interface CompiledFilter {
  /** Normalised filter, in the catalog's terms. */
  spec: DocMaskSpec;
  /** False = no filters and unrestricted caller: the fast path without any predicate. */
  restricted: boolean;
  /** WHERE fragment for the BM25 leg; null on the fast path. */
  sql: SqlFilter | null;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Epoch ms of a from/to bound (date-only: start/end of that UTC day); throws FilterError when invalid. */
export function parseBound(value: string, edge: 'from' | 'to'): number {
  const v = value.trim();
  const ms = DATE_ONLY.test(v) ? Date.parse(`${v}T${edge === 'from' ? '00:00:00.000' : '23:59:59.999'}Z`) : Date.parse(v);
  if (!Number.isFinite(ms)) throw new FilterError(`filters.${edge}: "${value}" is not an ISO 8601 date or date-time`);
  return ms;
}

function stringList(name: string, v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new FilterError(`filters.${name} must be an array of strings`);
  return v.length === 0 ? undefined : [...new Set(v as string[])];
}

/** Validates and normalises; throws FilterError with the offending key. */
export function normalizeFilters(filters: SearchFilters | undefined, groups: readonly string[] | null): DocMaskSpec {
  const spec: DocMaskSpec = { groups: groups === null ? null : [...new Set(groups)] };
  if (!filters) return spec;
  const kinds = stringList('kinds', filters.kinds);
  if (kinds) {
    const bad = kinds.filter((k) => !(documentKinds as readonly string[]).includes(k));
    if (bad.length > 0) throw new FilterError(`filters.kinds: unknown kind ${bad.map((b) => `"${b}"`).join(', ')} (expected ${documentKinds.join(' | ')})`);
    spec.kinds = kinds as DocumentKind[];
  }
  if (filters.from !== undefined && filters.from !== null) spec.fromMs = parseBound(String(filters.from), 'from');
  if (filters.to !== undefined && filters.to !== null) spec.toMs = parseBound(String(filters.to), 'to');
  if (spec.fromMs !== undefined && spec.toMs !== undefined && spec.fromMs > spec.toMs) {
    throw new FilterError(`filters.from (${filters.from}) is after filters.to (${filters.to})`);
  }
  spec.tags = stringList('tags', filters.tags);
  spec.sources = stringList('sources', filters.sources);
  if (!spec.tags) delete spec.tags;
  if (!spec.sources) delete spec.sources;
  return spec;
}

const bindMarks = (n: number) => new Array(n).fill('?').join(', ');

/** The BM25 leg's WHERE fragment (searchBm25 itself excludes retired chunks and deleted documents). */
export function toSql(spec: DocMaskSpec): SqlFilter {
  const where: string[] = [];
  const params: unknown[] = [];
  if (spec.kinds) {
    where.push(`d.kind IN (${bindMarks(spec.kinds.length)})`);
    params.push(...spec.kinds);
  }
  // Integer epoch ms on both sides, exactly like the catalog's Date.parse, so the two legs agree.
  const ms = `CAST(round(unixepoch(d.published_at, 'subsec') * 1000) AS INTEGER)`;
  if (spec.fromMs !== undefined) {
    where.push(`d.published_at IS NOT NULL AND ${ms} >= ?`);
    params.push(spec.fromMs);
  }
  if (spec.toMs !== undefined) {
    where.push(`d.published_at IS NOT NULL AND ${ms} <= ?`);
    params.push(spec.toMs);
  }
  if (spec.sources) {
    where.push(`d.source IN (${bindMarks(spec.sources.length)})`);
    params.push(...spec.sources);
  }
  if (spec.tags) {
    where.push(`EXISTS (SELECT 1 FROM json_each(d.tags) t WHERE t.value IN (${bindMarks(spec.tags.length)}))`);
    params.push(...spec.tags);
  }
  if (spec.groups) {
    const shared = spec.groups.length > 0 ? ` OR EXISTS (SELECT 1 FROM json_each(d.acl_groups) g WHERE g.value IN (${bindMarks(spec.groups.length)}))` : '';
    where.push(`(json_array_length(d.acl_groups) = 0${shared})`);
    params.push(...spec.groups);
  }
  return { sql: where.length > 0 ? where.join(' AND ') : '1 = 1', params };
}

export function compileFilter(filters: SearchFilters | undefined, groups: readonly string[] | null): CompiledFilter {
  const spec = normalizeFilters(filters, groups);
  const restricted =
    spec.groups !== null || spec.kinds !== undefined || spec.fromMs !== undefined || spec.toMs !== undefined || spec.tags !== undefined || spec.sources !== undefined;
  return { spec, restricted, sql: restricted ? toSql(spec) : null };
}

export interface DenseFilterPlan {
  /** Label predicate for a filtered HNSW search. */
  predicate: (label: number) => boolean;
  /** Allowed chunks in the active index. */
  allowed: number;
  /** Set when the allowed set is small enough for exact (brute-force) scoring: its chunk ids. */
  exactIds: number[] | null;
}

/**
 * The dense leg's plan for a restricted request. Exact search is chosen when the allowed set is
 * ≤ maxChunks or ≤ maxFraction of the indexed chunks: a filtered HNSW walk over a tiny allowed
 * set visits most of the graph and may still return fewer than k hits.
 */
export function planDenseFilter(catalog: ChunkCatalog, compiled: CompiledFilter, exact: { maxFraction: number; maxChunks: number }): DenseFilterPlan {
  const mask = catalog.documentMask(compiled.spec);
  const limit = Math.max(exact.maxChunks, Math.floor(exact.maxFraction * catalog.indexedSize));
  const { count, ids } = catalog.allowedIndexed(mask, limit);
  return { predicate: catalog.predicate(mask), allowed: count, exactIds: ids };
}

// Maps one raw source record (a parsed JSON object, a CSV row keyed by header, folder-file
// metadata) onto our SourceRecord, or explains why it cannot be mapped. Every reader goes
// through here so validation rules are identical across formats.

import { documentKinds, type DocumentKind, type SourceConfig } from '../../src/config/index.ts';
import { parseAcl } from './acl.ts';
import type { SourceItem, SourceRecord } from './types.ts';

/** Our field names, in the order they are mapped. */
export const ourFields = ['id', 'kind', 'title', 'body', 'url', 'author', 'published_at', 'tags', 'acl_groups'] as const;
export type OurField = (typeof ourFields)[number];

/**
 * Reads `path` from `obj`: an exact key first (CSV headers may contain dots), then a dotted walk
 * (`meta.author` → obj.meta.author).
 */
export function getField(obj: Record<string, unknown>, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
  if (!path.includes('.')) return undefined;
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** A scalar as text, or null when absent/blank; objects and arrays are not text. */
function scalarText(v: unknown): string | null | undefined {
  if (isBlank(v)) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined; // not representable as text
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

function utcIso(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): string | null {
  if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Date.UTC rolls 2025-02-30 over into March; a roll-over means the input was not a real date.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString();
}

function fromEpoch(n: number): string | null {
  if (!Number.isFinite(n)) return null;
  // Seconds until the year 5138; anything this large is milliseconds.
  const ms = Math.abs(n) >= 1e11 ? n : n * 1000;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return null;
  const y = date.getUTCFullYear();
  return y < 1900 || y > MAX_YEAR ? null : date.toISOString();
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const YMD_RE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const ZH_RE = /^(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[:：时](\d{2})分?(?:[:：](\d{2})秒?)?)?$/;
// RFC 2822 / HTTP dates with an explicit zone ("Mon, 05 Jan 2025 10:00:00 GMT").
const RFC2822_RE = /^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s+(?:GMT|UTC|UT|Z|[+-]\d{4})$/;

/**
 * Parses the date forms sources actually use and returns ISO 8601 UTC, or null when the value is
 * not a date we can trust. Accepted: ISO 8601 (a missing zone means UTC), `YYYY-MM-DD`,
 * `YYYY/MM/DD[ HH:mm[:ss]]`, `YYYY年M月D日[ HH:mm]`, RFC 2822 with a zone, epoch seconds or
 * milliseconds (number or digit string), and Date objects.
 */
export function parseDate(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'number' && !Number.isInteger(value)) return fromEpoch(value);
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const s = String(value).trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    // A bare 8-digit YYYYMMDD is more likely than an epoch in the 1970s.
    const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
    if (compact) return utcIso(+compact[1], +compact[2], +compact[3]);
    return fromEpoch(Number(s));
  }
  let m = ISO_RE.exec(s);
  if (m) {
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    const base = utcIso(+m[1], +m[2], +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, ms);
    if (!base) return null;
    const zone = m[8];
    if (!zone || zone.toUpperCase() === 'Z') return base;
    const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const offsetMin = (zm[1] === '-' ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3]));
    if (Number(zm[2]) > 14 || Number(zm[3]) > 59) return null;
    return new Date(Date.parse(base) - offsetMin * 60_000).toISOString();
  }
  m = YMD_RE.exec(s) ?? ZH_RE.exec(s);
  if (m) return utcIso(+m[1], +m[2], +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0);
  if (RFC2822_RE.test(s)) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? null : fromEpoch(t);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Lists (tags, ACL groups)
// ---------------------------------------------------------------------------------------------

/**
 * An array of scalars, or a string separated by `;` or `,` (also the full-width `；，、`), as a
 * trimmed, de-duplicated list in first-seen order. Returns undefined for values that are not lists.
 */
export function parseList(value: unknown): string[] | undefined {
  if (isBlank(value)) return [];
  let parts: unknown[];
  if (Array.isArray(value)) parts = value;
  else if (typeof value === 'string') {
    const s = value.trim();
    // A JSON array serialised into a CSV cell.
    if (s.startsWith('[') && s.endsWith(']')) {
      try {
        const parsed: unknown = JSON.parse(s);
        if (Array.isArray(parsed)) return parseList(parsed);
      } catch {
        // not JSON: fall through to splitting
      }
    }
    parts = s.split(/[;,；，、]/);
  } else if (typeof value === 'number') parts = [String(value)];
  else return undefined;
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    const t = scalarText(p);
    if (t === undefined) return undefined;
    if (t === null) continue;
    const v = t.trim();
    if (v && !seen.has(v)) {
      seen.add(v);
      out.push(v);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Record mapping
// ---------------------------------------------------------------------------------------------

/** The subset of SourceConfig the mapper needs (lets folder readers and tests pass less). */
export type MappingConfig = Pick<SourceConfig, 'name' | 'kind' | 'mapping' | 'acl_groups'>;

function fail(locator: string, raw: string, reason: string, detail: string, externalId?: string): SourceItem {
  return externalId === undefined ? { ok: false, locator, raw, reason, detail } : { ok: false, locator, raw, reason, detail, externalId };
}

export interface MapOptions {
  /**
   * The record is a CSV row: an empty cell is how CSV says "no value", so an empty ACL cell means
   * the field is not given (the source default applies). A blank-but-not-empty cell is still invalid.
   */
  csvCells?: boolean;
}

function safeStringify(obj: unknown): string {
  try {
    return JSON.stringify(obj) ?? String(obj);
  } catch {
    return String(obj);
  }
}

/**
 * Applies the source's field mapping and validation to one parsed record.
 * Quarantine reasons: 'invalid_record' (not an object), 'missing_id', 'missing_body',
 * 'invalid_kind', 'invalid_date', 'invalid_field' (e.g. an object where text was expected),
 * 'invalid_acl' (an ACL field present but empty, null or malformed: see acl.ts).
 * `raw` defaults to the record as JSON.
 */
export function mapRecord(obj: unknown, source: MappingConfig, locator: string, raw?: string, opts: MapOptions = {}): SourceItem {
  const rawText = raw ?? safeStringify(obj);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return fail(locator, rawText, 'invalid_record', `expected an object, got ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : typeof obj}`);
  }
  const rec = obj as Record<string, unknown>;
  const mapping = (source.mapping ?? {}) as Partial<Record<OurField, string>>;
  const fieldName = (f: OurField) => mapping[f] ?? f;
  const get = (f: OurField) => getField(rec, fieldName(f));

  const idRaw = get('id');
  const id = scalarText(idRaw);
  if (id === undefined) return fail(locator, rawText, 'missing_id', `field "${fieldName('id')}" must be a string or number`);
  if (id === null || id.trim() === '') return fail(locator, rawText, 'missing_id', `field "${fieldName('id')}" is missing or empty`);
  const externalId = id.trim();
  // Past this point the external id is known: naming it makes the record findable for the operator.
  const where = locator;
  const reject = (reason: string, detail: string) => fail(where, rawText, reason, `record "${externalId}": ${detail}`, externalId);

  const kindRaw = get('kind');
  let kind: DocumentKind = source.kind ?? 'news';
  if (!isBlank(kindRaw)) {
    const k = typeof kindRaw === 'string' ? kindRaw.trim().toLowerCase() : kindRaw;
    if (!(documentKinds as readonly unknown[]).includes(k)) {
      return reject('invalid_kind', `field "${fieldName('kind')}" is ${safeStringify(kindRaw)}; expected one of ${documentKinds.join(', ')}`);
    }
    kind = k as DocumentKind;
  }

  const texts: Partial<Record<'title' | 'body' | 'url' | 'author', string | null>> = {};
  for (const f of ['title', 'body', 'url', 'author'] as const) {
    const v = scalarText(get(f));
    if (v === undefined) {
      const reason = f === 'body' ? 'missing_body' : 'invalid_field';
      return reject(reason, `field "${fieldName(f)}" must be text, got ${safeStringify(get(f)).slice(0, 80)}`);
    }
    texts[f] = v;
  }
  if (texts.body === null || texts.body!.trim() === '') {
    return reject('missing_body', `field "${fieldName('body')}" is missing or empty`);
  }

  const dateRaw = get('published_at');
  let publishedAt: string | null = null;
  if (!isBlank(dateRaw)) {
    publishedAt = parseDate(dateRaw);
    if (publishedAt === null) {
      return reject('invalid_date', `field "${fieldName('published_at')}" is ${safeStringify(dateRaw).slice(0, 80)}, not a recognised date`);
    }
  }

  const tags = parseList(get('tags'));
  if (tags === undefined) return reject('invalid_field', `field "${fieldName('tags')}" must be a list or a ;/,-separated string`);
  // A record's own groups replace the source default; present-but-unusable never means public.
  const aclRaw = get('acl_groups');
  let aclGroups = [...(source.acl_groups ?? [])];
  if (aclRaw !== undefined && !(opts.csvCells && aclRaw === '')) {
    const acl = parseAcl(aclRaw);
    if (!acl.ok) return reject('invalid_acl', `field "${fieldName('acl_groups')}" ${acl.problem}; value: ${safeStringify(aclRaw).slice(0, 200)}`);
    aclGroups = acl.groups;
  }

  const record: SourceRecord = {
    externalId,
    kind,
    title: (texts.title ?? '').trim(),
    body: texts.body!,
    url: texts.url?.trim() || null,
    author: texts.author?.trim() || null,
    publishedAt,
    tags,
    aclGroups,
  };
  return { ok: true, record, locator, raw: rawText };
}

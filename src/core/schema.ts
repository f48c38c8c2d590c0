import type { CoreConfig, CoreField, CoreTypeConfig } from '../config/sections/core.ts';

export type { CoreConfig, CoreField, CoreRelation, CoreTypeConfig } from '../config/sections/core.ts';

// Typed access to core records as configured in `core:`: which columns a field is stored in,
// how a raw cell is coerced and validated, and how a value reads in a given language.

export type Lang = 'zh' | 'en';
export type CoreValue = string | number | string[];
export type CoreData = Record<string, CoreValue>;

export interface CoreRecord {
  type: string;
  key: string;
  data: CoreData;
}

/** Storage columns of a field: <name>_zh and <name>_en when localized, else <name>. */
export function columnsOf(field: CoreField): string[] {
  return field.localized ? [`${field.name}_zh`, `${field.name}_en`] : [field.name];
}

export function typeConfig(core: CoreConfig, type: string): CoreTypeConfig {
  const t = core.types[type];
  if (!t) throw new Error(`unknown core type "${type}"; configured: ${Object.keys(core.types).join(', ')}`);
  return t;
}

export function fieldOf(t: CoreTypeConfig, name: string): CoreField {
  const f = t.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field "${name}"`);
  return f;
}

/** Relation source fields are never asked as single facts: they hold ids, not facts. */
export function relationFields(core: CoreConfig, type: string): Set<string> {
  return new Set(core.relations.filter((r) => r.from === type).map((r) => r.field));
}

export type Coerced = { ok: true; value: CoreValue | undefined } | { ok: false; detail: string };

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const URL_RE = /^https?:\/\/[^\s]+$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[\d\s().-]{5,}$/;

/** Coerces one raw cell to the field's type; empty → undefined (absent). */
export function coerce(field: CoreField, raw: unknown, listSeparator: string): Coerced {
  if (raw === null || raw === undefined) return { ok: true, value: undefined };
  if (field.type === 'list') return coerceList(raw, listSeparator);
  if (typeof raw === 'object') return { ok: false, detail: `expected a ${field.type}, got ${Array.isArray(raw) ? 'an array' : 'an object'}` };
  const s = String(raw).trim();
  if (s === '') return { ok: true, value: undefined };
  switch (field.type) {
    case 'integer': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(s) ? Number(s) : NaN;
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, detail: `"${s}" is not an integer` };
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN;
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, detail: `"${s}" is not a number` };
    }
    case 'date': {
      const m = DATE.exec(s);
      if (!m) return { ok: false, detail: `"${s}" is not a YYYY-MM-DD date` };
      const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) return { ok: false, detail: `"${s}" is not a calendar date` };
      return { ok: true, value: s.slice(0, 10) };
    }
    case 'url':
      return URL_RE.test(s) ? { ok: true, value: s } : { ok: false, detail: `"${s}" is not an http(s) URL` };
    case 'email':
      return EMAIL.test(s) ? { ok: true, value: s } : { ok: false, detail: `"${s}" is not an email address` };
    case 'phone':
      return PHONE.test(s) ? { ok: true, value: s } : { ok: false, detail: `"${s}" is not a phone number` };
    default:
      return { ok: true, value: s };
  }
}

function coerceList(raw: unknown, sep: string): Coerced {
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string') {
    const s = raw.trim();
    if (s.startsWith('[')) {
      try {
        const parsed = JSON.parse(s) as unknown;
        if (!Array.isArray(parsed)) return { ok: false, detail: 'expected a list' };
        items = parsed;
      } catch {
        return { ok: false, detail: `"${s}" is neither a JSON array nor a "${sep}"-separated list` };
      }
    } else items = s.split(sep);
  } else return { ok: false, detail: `expected a list, got ${typeof raw}` };
  const out: string[] = [];
  for (const it of items) {
    if (typeof it !== 'string' && typeof it !== 'number') return { ok: false, detail: 'list items must be strings or numbers' };
    const v = String(it).trim();
    if (v) out.push(v);
  }
  return { ok: true, value: out.length ? out : undefined };
}

export type Validated =
  | { ok: true; key: string; data: CoreData; unknownColumns: string[] }
  | { ok: false; key: string | null; reason: 'not_an_object' | 'missing_key' | 'missing_required' | 'bad_value'; detail: string };

/** Validates a raw row against a type: coerces every column, checks key and required fields. */
export function validateRow(t: CoreTypeConfig, row: unknown, listSeparator: string): Validated {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return { ok: false, key: null, reason: 'not_an_object', detail: 'a record must be an object' };
  const src = row as Record<string, unknown>;
  const keyRaw = src[t.key];
  const key = keyRaw === undefined || keyRaw === null ? '' : String(keyRaw).trim();
  if (!key) return { ok: false, key: null, reason: 'missing_key', detail: `key field "${t.key}" is empty` };
  const data: CoreData = {};
  const known = new Set<string>();
  const problems: string[] = [];
  const missing: string[] = [];
  for (const f of t.fields) {
    const cols = columnsOf(f);
    cols.forEach((c) => known.add(c));
    for (const c of cols) {
      const r = coerce(f, src[c], listSeparator);
      if (!r.ok) problems.push(`${c}: ${r.detail}`);
      else if (r.value !== undefined) data[c] = r.value;
    }
    if (f.required && !cols.some((c) => data[c] !== undefined)) missing.push(cols.join(' or '));
  }
  if (problems.length) return { ok: false, key, reason: 'bad_value', detail: problems.join('; ') };
  if (missing.length) return { ok: false, key, reason: 'missing_required', detail: `missing ${missing.join(', ')}` };
  const unknownColumns = Object.keys(src).filter((c) => !known.has(c));
  return { ok: true, key, data, unknownColumns };
}

/** A field's value in one language (localized fields fall back to the other language). */
export function valueIn(field: CoreField, data: CoreData, lang: Lang): CoreValue | undefined {
  if (!field.localized) return data[field.name];
  const other: Lang = lang === 'zh' ? 'en' : 'zh';
  return data[`${field.name}_${lang}`] ?? data[`${field.name}_${other}`];
}

/** The name a record is called by in one language. */
export function displayName(t: CoreTypeConfig, data: CoreData, lang: Lang): string {
  const v = valueIn(fieldOf(t, t.display_name), data, lang);
  return v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
}

/** Every name a record goes by (all languages), for mention matching and PII scans. */
export function allNames(t: CoreTypeConfig, data: CoreData): string[] {
  return [...new Set([displayName(t, data, 'zh'), displayName(t, data, 'en')].filter(Boolean))];
}

import type { DocMaskSpec } from '../retrieval/catalog.ts';
import { KIND_CODES } from './builder.ts';
import type { Bm25Segment } from './segment.ts';

// Filters and ACL inside the BM25 traversal: a request's normalised filter (the same DocMaskSpec
// the dense leg's catalog uses, built by src/retrieval/filters.ts) compiled into a predicate over
// the index file's per-document columns. It is evaluated before a document is scored, so a
// disallowed chunk never enters the candidate set and a restrictive filter still yields k hits
// when k allowed chunks match. Semantics are those of filters.ts (toSql / documentMask):
// - kinds: the document's kind is one of them;
// - from/to: inclusive epoch-ms bounds; a document without published_at fails any date bound;
// - sources: its source is one of them; tags: it carries ANY of them;
// - groups: null = unrestricted; else a document with no ACL groups is public and any other is
//   visible iff it shares a group with the caller.

/** True when the spec restricts anything (false: no predicate is needed). */
export function isRestricted(spec: DocMaskSpec | null | undefined): spec is DocMaskSpec {
  if (!spec) return false;
  return spec.groups !== null || spec.kinds !== undefined || spec.fromMs !== undefined || spec.toMs !== undefined || spec.tags !== undefined || spec.sources !== undefined;
}

function maskOf(dictionary: readonly string[], names: readonly string[]): Uint8Array {
  const wanted = new Set(names);
  const m = new Uint8Array(dictionary.length);
  dictionary.forEach((name, i) => {
    if (wanted.has(name)) m[i] = 1;
  });
  return m;
}

/** Document predicate for `seg`, or null when the spec restricts nothing. */
export function compileDocFilter(seg: Bm25Segment, spec: DocMaskSpec | null | undefined): ((doc: number) => boolean) | null {
  if (!isRestricted(spec)) return null;
  const kinds = spec.kinds ? new Uint8Array(256) : null;
  if (kinds) {
    for (const k of spec.kinds!) {
      const code = (KIND_CODES as readonly string[]).indexOf(k);
      if (code >= 0) kinds[code] = 1;
    }
  }
  const dated = spec.fromMs !== undefined || spec.toMs !== undefined;
  const from = spec.fromMs ?? -Infinity;
  const to = spec.toMs ?? Infinity;
  const sources = spec.sources ? maskOf(seg.sources, spec.sources) : null;
  const tags = spec.tags ? maskOf(seg.tags, spec.tags) : null;
  const groups = spec.groups ? maskOf(seg.groups, spec.groups) : null;
  const { docRow, rowKind, rowPublished, rowSource, rowTagOffset, rowTag, rowAclOffset, rowAcl } = seg;
  return (doc: number): boolean => {
    const r = docRow[doc];
    if (kinds && !kinds[rowKind[r]]) return false;
    if (dated) {
      const p = rowPublished[r];
      if (!(p >= from && p <= to)) return false; // NaN (unknown date) fails
    }
    if (sources && !sources[rowSource[r]]) return false;
    if (tags) {
      let any = false;
      for (let i = rowTagOffset[r]; i < rowTagOffset[r + 1]; i++) {
        if (tags[rowTag[i]]) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
    if (groups) {
      const start = rowAclOffset[r];
      const end = rowAclOffset[r + 1];
      if (end > start) {
        let shared = false;
        for (let i = start; i < end; i++) {
          if (groups[rowAcl[i]]) {
            shared = true;
            break;
          }
        }
        if (!shared) return false;
      }
    }
    return true;
  };
}

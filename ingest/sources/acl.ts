import { GROUP_NAME_RULE, isGroupName } from '../../src/auth/groups.ts';

// A record's ACL field decides who may read the document, so it is parsed strictly: anything
// that is not a clear, non-empty list of valid group names is an error (the record is
// quarantined as `invalid_acl`), never "no groups" — which would publish it to every key.
//
// The rule (README "Pointing it at real sources"):
//   - field absent              → the source's `acl_groups` default applies
//   - field present and valid   → the record's groups REPLACE the source default (never merged:
//                                 merging turned an exec-only record into exec+hr)
//   - present but empty, null, whitespace, a non-string item, a bad group name, or not a
//     list/string                → quarantined `invalid_acl`
// Accepted forms: a JSON array of strings, or a string "a;b" / "a,b" (also `；，、`), or a JSON
// array serialised into a string (CSV cells).

export type AclParse = { ok: true; groups: string[] } | { ok: false; problem: string };

const SEPARATORS = /[;,；，、]/;

function fromItems(items: unknown[]): AclParse {
  if (items.length === 0) return { ok: false, problem: 'is an empty list (a restricted document needs at least one group; leave the field out to use the source default)' };
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') return { ok: false, problem: `has a non-string item ${JSON.stringify(item) ?? String(item)}` };
    const g = item.trim();
    if (!g) return { ok: false, problem: 'has an empty or blank group name' };
    if (!isGroupName(g)) return { ok: false, problem: `has an invalid group name "${g}" (${GROUP_NAME_RULE})` };
    if (!out.includes(g)) out.push(g);
  }
  return { ok: true, groups: out };
}

/** Parses a record's ACL value (the caller has established that the field is present). */
export function parseAcl(value: unknown): AclParse {
  if (value === null || value === undefined) return { ok: false, problem: 'is null' };
  if (Array.isArray(value)) return fromItems(value);
  if (typeof value === 'string') {
    const s = value.trim();
    if (!s) return { ok: false, problem: 'is an empty or blank string' };
    if (s.startsWith('[') && s.endsWith(']')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(s);
      } catch {
        return { ok: false, problem: 'looks like a JSON array but does not parse' };
      }
      return Array.isArray(parsed) ? fromItems(parsed) : { ok: false, problem: 'is not a list' };
    }
    return fromItems(s.split(SEPARATORS));
  }
  return { ok: false, problem: `must be a list of group names or a ;/,-separated string, got ${Array.isArray(value) ? 'an array' : typeof value}` };
}

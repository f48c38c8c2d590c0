import type { z } from 'zod';

// The keys a zod config schema accepts at a given path, so an unknown-key error can suggest the
// right one. Walks zod 4's schema definitions through the wrappers the config schemas use.

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
};

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwraps default/optional/nullable/pipe/catch/readonly down to the schema that holds the value. */
function unwrap(s: z.ZodType): z.ZodType[] {
  const d = defOf(s);
  if (d.innerType && ['default', 'optional', 'nullable', 'catch', 'readonly', 'prefault', 'nonoptional'].includes(d.type)) return unwrap(d.innerType);
  if (d.type === 'pipe' && d.in) return unwrap(d.in);
  if (d.type === 'union' && d.options) return d.options.flatMap(unwrap);
  return [s];
}

function child(s: z.ZodType, segment: PropertyKey): z.ZodType[] {
  const d = defOf(s);
  if (d.type === 'object' && d.shape) return typeof segment === 'string' && segment in d.shape ? [d.shape[segment]] : [];
  if (d.type === 'array' && d.element) return typeof segment === 'number' ? [d.element] : [];
  if (d.type === 'record' && d.valueType) return [d.valueType];
  return [];
}

/** Known object keys at `path` (empty when the path does not lead to an object schema). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes = unwrap(schema);
  for (const seg of path) nodes = nodes.flatMap((n) => child(n, seg)).flatMap(unwrap);
  const keys = new Set<string>();
  for (const n of nodes) {
    const d = defOf(n);
    if (d.type === 'object' && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return [...keys];
}

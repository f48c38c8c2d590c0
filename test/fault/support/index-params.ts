// Shared by the fault tests and their child processes (which must not be imported: they run on import).
export const MODEL = 'local:test/e5@q8';

/** The corruption fuzz: enough dimensions and elements for several graph levels. */
export const FUZZ = { dim: 24, params: { m: 6, ef_construction: 40, ef_search: 40, keep_versions: 3 } };

/** The activation kill: tiny vectors, many chunks, so the activation transaction is long. */
export const KILL = { dim: 4, params: { m: 4, ef_construction: 8, ef_search: 16, keep_versions: 3 } };

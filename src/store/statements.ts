import type Database from 'better-sqlite3';
import type { DB } from './index.ts';

// better-sqlite3 compiles the SQL on every db.prepare(). The statements a request runs every
// time (key lookup, ACL re-check, deployed adapter, hydration) were compiled per request: ≈ 4%
// of the chat server thread and ≈ 2.5% of a retrieval at 1M chunks (profiles, 32 clients). They
// are prepared once per connection here instead.
//
// A cached statement is shared: a caller must not switch its mode (pluck/raw/expand) — ask for
// the mode here, it is part of the key.

export type StatementMode = 'rows' | 'pluck';

/** Distinct statements kept per connection (hydration's SQL varies with the filter's shape). */
const MAX_PER_CONNECTION = 256;

const cache = new WeakMap<DB, Map<string, Database.Statement>>();

/** `db.prepare(sql)` compiled once per connection (and mode), then reused. */
export function cachedStatement(db: DB, sql: string, mode: StatementMode = 'rows'): Database.Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  const key = mode === 'rows' ? sql : `${mode}\n${sql}`;
  let st = m.get(key);
  if (st === undefined) {
    st = db.prepare(sql);
    if (mode === 'pluck') st.pluck(true);
    if (m.size >= MAX_PER_CONNECTION) m.delete(m.keys().next().value!);
    m.set(key, st);
  }
  return st;
}

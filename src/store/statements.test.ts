import { describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import { cachedStatement } from './statements.ts';

describe('cachedStatement', () => {
  it('compiles a statement once per connection and mode, and runs it with fresh parameters', () => {
    const db = openStore(':memory:');
    db.exec('CREATE TABLE t (x INTEGER, y TEXT)');
    db.prepare('INSERT INTO t VALUES (1, ?), (2, ?)').run('a', 'b');
    const sql = 'SELECT x, y FROM t WHERE x = ?';
    const a = cachedStatement(db, sql);
    expect(cachedStatement(db, sql)).toBe(a);
    expect(a.get(1)).toEqual({ x: 1, y: 'a' });
    expect(cachedStatement(db, sql).get(2)).toEqual({ x: 2, y: 'b' });
    // Another mode is another statement: a plucking caller cannot change what a row caller gets.
    const p = cachedStatement(db, 'SELECT y FROM t WHERE x = ?', 'pluck');
    expect(p.get(2)).toBe('b');
    expect(cachedStatement(db, 'SELECT y FROM t WHERE x = ?').get(2)).toEqual({ y: 'b' });
    // Another connection gets its own statement.
    const other = openStore(':memory:');
    other.exec('CREATE TABLE t (x INTEGER, y TEXT)');
    expect(cachedStatement(other, sql)).not.toBe(a);
    expect(cachedStatement(other, sql).get(1)).toBeUndefined();
    db.close();
    other.close();
  });

  it('keeps a bounded number of statements per connection, evicting the oldest', () => {
    const db = openStore(':memory:');
    const first = cachedStatement(db, 'SELECT 0');
    for (let i = 1; i <= 300; i++) cachedStatement(db, `SELECT ${i}`);
    expect(cachedStatement(db, 'SELECT 0')).not.toBe(first);
    expect(cachedStatement(db, 'SELECT 300 AS v').get()).toEqual({ v: 300 });
    db.close();
  });
});

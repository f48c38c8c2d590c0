import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompareError, comparePerQuery, readPerQuery } from './compare.ts';
import type { PerQueryRecord } from './retrieval.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function rec(id: string, ndcg: number, rank: number | null = ndcg > 0 ? 1 : null): PerQueryRecord {
  return {
    id,
    query: `question ${id}`,
    relevant: { [`p${id}`]: rank },
    top: [],
    legs: { bm25: null, dense: null },
    metrics: { 'recall@1': rank === 1 ? 1 : 0, 'recall@5': rank !== null && rank <= 5 ? 1 : 0, 'recall@10': rank !== null ? 1 : 0, 'mrr@10': rank ? 1 / rank : 0, 'ndcg@10': ndcg },
  };
}
const runOf = (xs: PerQueryRecord[]) => new Map(xs.map((r) => [r.id, r]));

describe('comparePerQuery', () => {
  it('finds a consistent improvement significant and lists the queries that changed most', () => {
    const ids = Array.from({ length: 200 }, (_, i) => String(i));
    const a = runOf(ids.map((id) => rec(id, 0.5)));
    // 60 queries improve by 0.3, 10 get worse by 0.1, the rest are unchanged.
    const b = runOf(ids.map((id, i) => rec(id, i < 60 ? 0.8 : i < 70 ? 0.4 : 0.5)));
    const c = comparePerQuery(a, b, { permutations: 2000, top: 3 });
    expect(c.paired).toBe(200);
    expect(c.diff).toBeCloseTo((60 * 0.3 - 10 * 0.1) / 200, 12);
    expect(c.p).toBeLessThan(0.001);
    expect(c.ci95[0]).toBeGreaterThan(0);
    expect([c.better, c.worse, c.same]).toEqual([60, 10, 130]);
    expect(c.changed).toHaveLength(3);
    expect(c.changed[0].delta).toBeCloseTo(0.3, 12);
  });

  it('finds symmetric noise not significant, and the same run identical', () => {
    const ids = Array.from({ length: 100 }, (_, i) => String(i));
    const a = runOf(ids.map((id) => rec(id, 0.5)));
    const b = runOf(ids.map((id, i) => rec(id, i % 2 ? 0.7 : 0.3))); // +0.2 and −0.2 alternate
    const c = comparePerQuery(a, b, { permutations: 2000 });
    expect(c.diff).toBeCloseTo(0, 12);
    expect(c.p).toBeGreaterThan(0.5);
    const same = comparePerQuery(a, a, { permutations: 100 });
    expect(same.p).toBe(1);
    expect(same.changed).toEqual([]);
  });

  it('pairs by query id and refuses files with nothing in common', () => {
    const a = runOf([rec('1', 1), rec('2', 0)]);
    const b = runOf([rec('2', 1), rec('3', 1)]);
    const c = comparePerQuery(a, b, { metric: 'recall@1', permutations: 10 });
    expect([c.paired, c.onlyA, c.onlyB]).toEqual([1, 1, 1]);
    expect(c.changed[0]).toMatchObject({ id: '2', a: 0, b: 1, rankA: null, rankB: 1 });
    expect(() => comparePerQuery(runOf([rec('1', 1)]), runOf([rec('9', 1)]))).toThrow(/share no query id/);
  });

  it('reads per-query files and names the bad line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-compare-'));
    dirs.push(dir);
    const good = path.join(dir, 'a.jsonl');
    fs.writeFileSync(good, `${JSON.stringify(rec('1', 1))}\n\n${JSON.stringify(rec('2', 0))}\n`);
    expect([...readPerQuery(good).keys()]).toEqual(['1', '2']);
    const bad = path.join(dir, 'b.jsonl');
    fs.writeFileSync(bad, `${JSON.stringify(rec('1', 1))}\n{"id":"2"}\n`);
    expect(() => readPerQuery(bad)).toThrow(/b\.jsonl:2: not a per-query record/);
    fs.writeFileSync(bad, `${JSON.stringify(rec('1', 1))}\n${JSON.stringify(rec('1', 1))}\n`);
    expect(() => readPerQuery(bad)).toThrow(CompareError);
    expect(() => readPerQuery(path.join(dir, 'none.jsonl'))).toThrow(/not found/);
  });
});

import fs from 'node:fs';
import { createRng } from '../util/rng.ts';
import type { PerQueryRecord } from './retrieval.ts';

// `kb eval compare A B`: is B better than A on the same queries, or is the difference noise?
// Two --per-query files of `kb eval retrieval` are paired by query id; the per-query differences
// of one metric are tested with a paired randomization (sign-flip) test: under "A and B are
// exchangeable", each query's difference is equally likely to have either sign, so the p-value is
// the share of random sign assignments whose mean difference is at least as far from 0 as the
// observed one (two-sided). A percentile bootstrap gives the 95% interval of the mean difference.

export const COMPARE_METRICS = ['recall@1', 'recall@5', 'recall@10', 'mrr@10', 'ndcg@10'] as const;
export type CompareMetric = (typeof COMPARE_METRICS)[number];

export class CompareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompareError';
  }
}

export interface QueryChange {
  id: string;
  query: string;
  a: number;
  b: number;
  delta: number;
  /** Rank of the first relevant passage in A and in B (null: not in the top k). */
  rankA: number | null;
  rankB: number | null;
}

export interface Comparison {
  metric: CompareMetric;
  /** Queries present in both files (the paired sample). */
  paired: number;
  onlyA: number;
  onlyB: number;
  meanA: number;
  meanB: number;
  /** mean(B − A). */
  diff: number;
  ci95: [number, number];
  /** Two-sided p-value of the paired randomization test. */
  p: number;
  permutations: number;
  better: number;
  worse: number;
  same: number;
  /** The queries that changed most (|B − A| descending), at most `top`. */
  changed: QueryChange[];
}

/** Reads a --per-query file; malformed lines are errors naming file and line. */
export function readPerQuery(file: string): Map<string, PerQueryRecord> {
  if (!fs.existsSync(file)) throw new CompareError(`${file} not found`);
  const out = new Map<string, PerQueryRecord>();
  fs.readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      let v: PerQueryRecord;
      try {
        v = JSON.parse(line) as PerQueryRecord;
      } catch (err) {
        throw new CompareError(`${file}:${i + 1}: invalid JSON: ${(err as Error).message}`);
      }
      if (typeof v?.id !== 'string' || typeof v.metrics !== 'object' || v.metrics === null) throw new CompareError(`${file}:${i + 1}: not a per-query record (needs "id" and "metrics")`);
      if (out.has(v.id)) throw new CompareError(`${file}:${i + 1}: query "${v.id}" appears twice`);
      out.set(v.id, v);
    });
  if (out.size === 0) throw new CompareError(`${file}: no per-query records`);
  return out;
}

const firstRank = (r: PerQueryRecord): number | null => {
  const ranks = Object.values(r.relevant ?? {}).filter((x): x is number => typeof x === 'number');
  return ranks.length ? Math.min(...ranks) : null;
};

export function comparePerQuery(
  a: ReadonlyMap<string, PerQueryRecord>,
  b: ReadonlyMap<string, PerQueryRecord>,
  opts: { metric?: CompareMetric; permutations?: number; seed?: number; top?: number } = {},
): Comparison {
  const metric = opts.metric ?? 'ndcg@10';
  const permutations = opts.permutations ?? 10_000;
  const rng = createRng(opts.seed ?? 12);
  const pairs: { ra: PerQueryRecord; rb: PerQueryRecord; x: number; y: number }[] = [];
  for (const [id, ra] of a) {
    const rb = b.get(id);
    if (!rb) continue;
    const x = ra.metrics[metric];
    const y = rb.metrics[metric];
    if (typeof x !== 'number' || typeof y !== 'number') throw new CompareError(`query "${id}" has no numeric ${metric}`);
    pairs.push({ ra, rb, x, y });
  }
  const n = pairs.length;
  if (n === 0) throw new CompareError('the two files share no query id: they are not runs over the same queries');
  const d = Float64Array.from(pairs, (p) => p.y - p.x);
  const sum = d.reduce((s, x) => s + x, 0);
  const observed = Math.abs(sum);
  // Randomization test on the sum (same ordering as the mean). A small tolerance keeps exact ties
  // (e.g. the observed assignment itself) counted despite floating-point summation order.
  const eps = 1e-9 * Math.max(1, observed);
  let extreme = 0;
  for (let it = 0; it < permutations; it++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng() < 0.5 ? -d[i] : d[i];
    if (Math.abs(s) >= observed - eps) extreme++;
  }
  // Bootstrap of the mean difference (resampling queries), percentile interval.
  const boots = new Float64Array(Math.min(permutations, 2000));
  for (let it = 0; it < boots.length; it++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rng() * n)];
    boots[it] = s / n;
  }
  boots.sort();
  const q = (f: number) => (boots.length ? boots[Math.min(boots.length - 1, Math.max(0, Math.floor(f * boots.length)))] : 0);
  const changed = pairs
    .filter((p) => p.y !== p.x)
    .map((p) => ({ id: p.ra.id, query: p.ra.query, a: p.x, b: p.y, delta: p.y - p.x, rankA: firstRank(p.ra), rankB: firstRank(p.rb) }))
    .sort((u, v) => Math.abs(v.delta) - Math.abs(u.delta) || (u.id < v.id ? -1 : 1))
    .slice(0, opts.top ?? 10);
  return {
    metric,
    paired: n,
    onlyA: a.size - n,
    onlyB: [...b.keys()].filter((id) => !a.has(id)).length,
    meanA: pairs.reduce((s, p) => s + p.x, 0) / n,
    meanB: pairs.reduce((s, p) => s + p.y, 0) / n,
    diff: sum / n,
    ci95: [q(0.025), q(0.975)],
    p: (extreme + 1) / (permutations + 1),
    permutations,
    better: pairs.filter((p) => p.y > p.x).length,
    worse: pairs.filter((p) => p.y < p.x).length,
    same: pairs.filter((p) => p.y === p.x).length,
    changed,
  };
}

export function comparisonTable(c: Comparison, names: { a: string; b: string }): string {
  const f = (x: number) => x.toFixed(4);
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;
  const lines = [
    `metric    ${c.metric} over ${c.paired} paired queries${c.onlyA || c.onlyB ? ` (${c.onlyA} only in A, ${c.onlyB} only in B: not compared)` : ''}`,
    `A         ${f(c.meanA)}  ${names.a}`,
    `B         ${f(c.meanB)}  ${names.b}`,
    `B − A     ${signed(c.diff)}  95% CI [${signed(c.ci95[0])}, ${signed(c.ci95[1])}] (bootstrap)`,
    `p         ${c.p < 0.0001 ? c.p.toExponential(1) : c.p.toFixed(4)}  (paired randomization test, two-sided, ${c.permutations} sign flips)`,
    `queries   ${c.better} better, ${c.worse} worse, ${c.same} unchanged in B`,
  ];
  if (c.changed.length) {
    lines.push('', 'changed most (first relevant rank A → B):');
    for (const q of c.changed) {
      const r = (x: number | null) => (x === null ? '–' : String(x));
      lines.push(`  ${signed(q.delta)}  ${q.id}  rank ${r(q.rankA)} → ${r(q.rankB)}  ${q.query.replace(/\s+/g, ' ').slice(0, 80)}`);
    }
  }
  return lines.join('\n');
}

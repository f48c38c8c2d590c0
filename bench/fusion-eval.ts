// Phase 2 of bench/fusion.ts: every fusion setting over the dumped leg lists, with 2-fold CV.
import fs from 'node:fs';
import type { BeirDataset } from '../src/eval/beir.ts';
import { foldOf } from '../src/eval/fit.ts';
import { ndcgAt, recallAt, type Judgments } from '../src/eval/metrics.ts';
import { compareFused, convexFuse, rrfFuse, type FusedScore, type LegHit } from '../src/retrieval/fusion.ts';
import type { LegsRecord } from './fusion.ts';

interface Setting {
  name: string;
  /** Top-10 passage indexes for one query's legs. */
  rank(legs: { dense: LegHit[]; bm25: LegHit[] }): number[];
  kind: 'leg' | 'rrf' | 'convex';
}

interface Scores {
  r1: number;
  ndcg: number;
}

const K = 10;

function top(fused: Map<number, FusedScore>): number[] {
  return [...fused]
    .map(([chunkId, f]) => ({ chunkId, fused: f }))
    .sort(compareFused)
    .slice(0, K)
    .map((c) => c.chunkId);
}

function settings(denseWeights: number[], alphas: number[], rrfKs: number[]): Setting[] {
  const out: Setting[] = [
    { name: 'bm25 leg', kind: 'leg', rank: (l) => l.bm25.slice(0, K).map((h) => h.chunkId) },
    { name: 'dense leg', kind: 'leg', rank: (l) => l.dense.slice(0, K).map((h) => h.chunkId) },
  ];
  for (const k of rrfKs) for (const w of denseWeights) out.push({ name: `rrf k${k} dense ${w}`, kind: 'rrf', rank: (l) => top(rrfFuse(l, { dense: w, bm25: 1 }, k)) });
  for (const a of alphas) out.push({ name: `convex α ${a}`, kind: 'convex', rank: (l) => top(convexFuse(l, a)) });
  return out;
}

const parseList = (s: string | undefined, dflt: number[]) => (s ? s.split(',').map(Number) : dflt);

export function evaluateFusion(ds: BeirDataset, legsFile: string, flags: Map<string, string>): void {
  const index = new Map<string, number>();
  ds.corpus.forEach((p, i) => index.set(p.id, i));
  const pid = (id: string) => {
    const i = index.get(id);
    if (i === undefined) throw new Error(`${legsFile}: passage ${id} is not in ${ds.name} (a stale dump? delete it)`);
    return i;
  };
  const queries = new Map(ds.queries.map((q) => [q.id, q]));
  const records: Array<{ id: string; fold: 0 | 1; rel: Map<string, number>; legs: { dense: LegHit[]; bm25: LegHit[] } }> = [];
  for (const line of fs.readFileSync(legsFile, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as LegsRecord;
    if (!queries.has(r.id)) continue;
    const toHits = (xs: Array<[string, number]>) => xs.map(([id, score]) => ({ chunkId: pid(id), score }));
    records.push({ id: r.id, fold: foldOf(r.id), rel: ds.qrels.get(r.id) as Map<string, number>, legs: { dense: toHits(r.dense), bm25: toHits(r.bm25) } });
  }
  if (records.length !== ds.queries.length) throw new Error(`${legsFile} has ${records.length} of the ${ds.queries.length} queries (delete it to dump again)`);

  const all = settings(
    parseList(flags.get('dense-weights'), [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5]),
    parseList(flags.get('alphas'), [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 1]),
    parseList(flags.get('rrf-k'), [60, 10]),
  );
  // Per setting: per-query metrics, then means per fold and overall.
  const ids = ds.corpus.map((p) => p.id);
  const rows = all.map((s) => {
    const per = records.map((r) => {
      const ranked = s.rank(r.legs).map((i) => ids[i]);
      return { fold: r.fold, r1: recallAt(ranked, r.rel as Judgments, 1), ndcg: ndcgAt(ranked, r.rel as Judgments, K) };
    });
    const mean = (f: 0 | 1 | null): Scores => {
      const xs = per.filter((p) => f === null || p.fold === f);
      const n = Math.max(1, xs.length);
      return { r1: xs.reduce((a, p) => a + p.r1, 0) / n, ndcg: xs.reduce((a, p) => a + p.ndcg, 0) / n };
    };
    return { s, folds: [mean(0), mean(1)] as [Scores, Scores], all: mean(null) };
  });
  const f4 = (x: number) => x.toFixed(4);
  const n0 = records.filter((r) => r.fold === 0).length;
  console.log(`\n${records.length} queries: half 0 ${n0}, half 1 ${records.length - n0} (split by md5(query id), as kb eval fit)`);
  console.log(`${'setting'.padEnd(22)}${'R@1 all'.padEnd(9)}${'nDCG all'.padEnd(10)}${'R@1 h0'.padEnd(9)}${'nDCG h0'.padEnd(9)}${'R@1 h1'.padEnd(9)}nDCG h1`);
  for (const r of rows) {
    console.log(`${r.s.name.padEnd(22)}${f4(r.all.r1).padEnd(9)}${f4(r.all.ndcg).padEnd(10)}${f4(r.folds[0].r1).padEnd(9)}${f4(r.folds[0].ndcg).padEnd(9)}${f4(r.folds[1].r1).padEnd(9)}${f4(r.folds[1].ndcg)}`);
  }

  // The rule: hybrid ≥ each leg on recall@1 AND nDCG@10. On the training half, a setting that
  // meets it with the largest nDCG@10 (then recall@1) is chosen; when none does, the best nDCG@10.
  // Then its figures on the held-out half are compared with the legs' on that half.
  const legs = rows.filter((r) => r.s.kind === 'leg');
  const meets = (sc: (r: (typeof rows)[number]) => Scores, r: (typeof rows)[number]) => legs.every((l) => sc(r).r1 >= sc(l).r1 && sc(r).ndcg >= sc(l).ndcg);
  const choose = (kind: 'rrf' | 'convex', sc: (r: (typeof rows)[number]) => Scores) => {
    const cands = rows.filter((r) => r.s.kind === kind);
    const ok = cands.filter((r) => meets(sc, r));
    const pool = ok.length > 0 ? ok : cands;
    return pool.reduce((b, r) => (sc(r).ndcg > sc(b).ndcg + 1e-12 || (Math.abs(sc(r).ndcg - sc(b).ndcg) <= 1e-12 && sc(r).r1 > sc(b).r1) ? r : b));
  };
  const summary: Record<string, unknown> = {};
  for (const kind of ['rrf', 'convex'] as const) {
    console.log(`\n${kind}: chosen on one half, reported on the other`);
    const folds = ([0, 1] as const).map((train) => {
      const test = (1 - train) as 0 | 1;
      const chosen = choose(kind, (r) => r.folds[train]);
      const held = chosen.folds[test];
      const ok = meets((r) => r.folds[test], chosen);
      console.log(
        `  chosen on half ${train}: ${chosen.s.name} → held-out half ${test}: R@1 ${f4(held.r1)} nDCG@10 ${f4(held.ndcg)}; ` +
          `bm25 leg ${f4(legs[0].folds[test].r1)} / ${f4(legs[0].folds[test].ndcg)}, dense leg ${f4(legs[1].folds[test].r1)} / ${f4(legs[1].folds[test].ndcg)} → ` +
          `hybrid ≥ each leg: ${ok ? 'yes' : 'NO'}`,
      );
      return { train, chosen: chosen.s.name, heldOut: held, legsHeldOut: { bm25: legs[0].folds[test], dense: legs[1].folds[test] }, meets: ok };
    });
    const onAll = choose(kind, (r) => r.all);
    console.log(`  chosen on all queries: ${onAll.s.name} (R@1 ${f4(onAll.all.r1)}, nDCG@10 ${f4(onAll.all.ndcg)}); rule met on both held-out halves: ${folds.every((x) => x.meets) ? 'yes' : 'NO'}`);
    summary[kind] = { folds, chosenOnAll: onAll.s.name, all: onAll.all };
  }
  console.log(JSON.stringify({ bench: 'fusion', dataset: ds.name, queries: records.length, legs: Object.fromEntries(legs.map((l) => [l.s.name, l.all])), rows: rows.map((r) => ({ setting: r.s.name, all: r.all, halves: r.folds })), ...summary }));
}

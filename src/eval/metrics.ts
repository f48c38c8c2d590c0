// Ranking metrics for retrieval evaluation (BEIR conventions: binary or graded relevance, cut at k).

/** Relevance judgments of one query: doc id → grade (> 0 = relevant). */
export type Judgments = ReadonlyMap<string, number>;

function relevantCount(rel: Judgments): number {
  let n = 0;
  for (const g of rel.values()) if (g > 0) n++;
  return n;
}

/** Fraction of the query's relevant documents found in the first k results. */
export function recallAt(ranked: readonly string[], rel: Judgments, k: number): number {
  const total = relevantCount(rel);
  if (total === 0) return 0;
  const seen = new Set<string>();
  for (const id of ranked.slice(0, k)) if ((rel.get(id) ?? 0) > 0) seen.add(id);
  return seen.size / total;
}

/** Reciprocal rank of the first relevant result within the first k (0 when none). */
export function mrrAt(ranked: readonly string[], rel: Judgments, k: number): number {
  const top = ranked.slice(0, k);
  for (let i = 0; i < top.length; i++) if ((rel.get(top[i]) ?? 0) > 0) return 1 / (i + 1);
  return 0;
}

/** Normalised discounted cumulative gain at k, gain = grade, discount = log2(rank + 1). */
export function ndcgAt(ranked: readonly string[], rel: Judgments, k: number): number {
  const seen = new Set<string>();
  let dcg = 0;
  ranked.slice(0, k).forEach((id, i) => {
    if (seen.has(id)) return; // a duplicate id in a ranking earns nothing twice
    seen.add(id);
    const g = rel.get(id) ?? 0;
    if (g > 0) dcg += g / Math.log2(i + 2);
  });
  const ideal = [...rel.values()].filter((g) => g > 0).sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}

export interface MetricSummary {
  queries: number;
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
  'mrr@10': number;
  'ndcg@10': number;
}

/** Mean of every metric over the queries (each query: its ranking and its judgments). */
export function summarize(runs: ReadonlyArray<{ ranked: readonly string[]; rel: Judgments }>): MetricSummary {
  const n = runs.length;
  const mean = (f: (r: { ranked: readonly string[]; rel: Judgments }) => number) =>
    n === 0 ? 0 : runs.reduce((s, r) => s + f(r), 0) / n;
  return {
    queries: n,
    'recall@1': mean((r) => recallAt(r.ranked, r.rel, 1)),
    'recall@5': mean((r) => recallAt(r.ranked, r.rel, 5)),
    'recall@10': mean((r) => recallAt(r.ranked, r.rel, 10)),
    'mrr@10': mean((r) => mrrAt(r.ranked, r.rel, 10)),
    'ndcg@10': mean((r) => ndcgAt(r.ranked, r.rel, 10)),
  };
}

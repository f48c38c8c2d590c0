import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig } from '../../src/config/index.ts';
import { COMPARE_METRICS, comparePerQuery, comparisonTable, readPerQuery, type CompareMetric } from '../../src/eval/compare.ts';
import { fitRetrieval, fitTable } from '../../src/eval/fit.ts';
import { evalJson, evalTable, evaluateRetrieval, type EvalMode } from '../../src/eval/retrieval.ts';

// `kb eval retrieval`: retrieval quality of the served retriever on a BEIR-layout folder, in a
// throw-away store (the configured store is never touched). `kb eval compare`: paired test of two
// --per-query files.

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function register(program: Command): void {
  const evalCmd = program.command('eval').description('evaluation tools');
  evalCmd
    .command('retrieval')
    .description('recall@1/5/10, MRR@10, nDCG@10 of the retriever on a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels.tsv)')
    .requiredOption('--dataset <dir>', 'BEIR-layout dataset folder')
    .addOption(new Option('--mode <mode>', 'legs to run').choices(['bm25', 'dense', 'hybrid']).default('hybrid'))
    .option('--limit <n>', 'evaluate only the first N judged queries', positiveInt)
    .option('--work <dir>', 'build the evaluation store in this empty folder and keep it (default: a temporary folder)')
    .option('--per-query <file>', 'write one JSON line per query: rank of each relevant passage, top-k ids, per-leg ranks, metrics')
    .option('--json', 'print one JSON line: {"dataset","mode","queries","recall@1","recall@5","recall@10","mrr@10","ndcg@10"}')
    .action(async (opts: { dataset: string; mode: EvalMode; limit?: number; work?: string; json?: boolean; perQuery?: string }) => {
      const config = loadConfig();
      const result = await evaluateRetrieval({
        dataset: opts.dataset,
        mode: opts.mode,
        limit: opts.limit,
        workDir: opts.work,
        perQueryFile: opts.perQuery,
        config,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${opts.json ? evalJson(result) : evalTable(result)}\n`);
    });
  evalCmd
    .command('compare')
    .description('paired difference of two --per-query files (B − A) with a randomization test and the queries that changed most')
    .argument('<a>', 'per-query file of the baseline run')
    .argument('<b>', 'per-query file of the candidate run')
    .addOption(new Option('--metric <m>', 'metric to compare').choices([...COMPARE_METRICS]).default('ndcg@10'))
    .option('--permutations <n>', 'random sign flips of the test', positiveInt, 10000)
    .option('--top <n>', 'queries that changed most to list', positiveInt, 10)
    .option('--seed <n>', 'random seed (the result is reproducible)', positiveInt, 12)
    .option('--json', 'print the comparison as one JSON object')
    .action((a: string, b: string, opts: { metric: CompareMetric; permutations: number; top: number; seed: number; json?: boolean }) => {
      const c = comparePerQuery(readPerQuery(a), readPerQuery(b), opts);
      process.stdout.write(`${opts.json ? JSON.stringify(c) : comparisonTable(c, { a, b })}\n`);
    });
  evalCmd
    .command('fit')
    .description('fit the fusion weight (convex: alpha; rrf: dense weight) and the reranker head size on a judged BEIR-layout set, with 2-fold cross-validation')
    .requiredOption('--dataset <dir>', 'BEIR-layout dataset folder (your own judged questions)')
    .addOption(new Option('--mode <mode>', 'legs to run (weights need hybrid)').choices(['bm25', 'hybrid']).default('hybrid'))
    .addOption(new Option('--fusion <method>', 'fusion whose weight is fitted (default: retrieval.fusion); the configured setting is always measured too').choices(['rrf', 'convex']))
    .option('--dense-weights <list>', 'rrf: dense-leg weights to try (bm25 stays 1)', numberList, [0, 0.25, 0.5, 1, 2])
    .option('--alphas <list>', 'convex: dense weights alpha in [0, 1] to try (bm25 gets 1 − alpha)', numberList, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    .option('--heads <list>', 'reranker head sizes to try (with rerank.provider set)', numberList, [10, 20, 40])
    .option('--limit <n>', 'use only the first N judged queries', positiveInt)
    .option('--json', 'print the result as one JSON object')
    .action(async (opts: { dataset: string; mode: EvalMode; fusion?: 'rrf' | 'convex'; denseWeights: number[]; alphas: number[]; heads: number[]; limit?: number; json?: boolean }) => {
      const result = await fitRetrieval({
        dataset: opts.dataset,
        mode: opts.mode,
        fusion: opts.fusion,
        denseWeights: opts.denseWeights,
        alphas: opts.alphas,
        heads: opts.heads,
        limit: opts.limit,
        config: loadConfig(),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${opts.json ? JSON.stringify(result) : fitTable(result)}\n`);
    });
}

function numberList(v: string): number[] {
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0)) throw new InvalidArgumentError('must be a comma-separated list of non-negative numbers');
  return xs;
}

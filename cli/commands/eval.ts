import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig } from '../../src/config/index.ts';
import { evalJson, evalTable, evaluateRetrieval, type EvalMode } from '../../src/eval/retrieval.ts';

// `kb eval retrieval`: retrieval quality on a BEIR-layout folder, in a throw-away store
// (the configured store is never touched).

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
    .option('--json', 'print one JSON line: {"dataset","mode","queries","recall@1","recall@5","recall@10","mrr@10","ndcg@10"}')
    .action(async (opts: { dataset: string; mode: EvalMode; limit?: number; work?: string; json?: boolean }) => {
      const config = loadConfig();
      const result = await evaluateRetrieval({
        dataset: opts.dataset,
        mode: opts.mode,
        limit: opts.limit,
        workDir: opts.work,
        config,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${opts.json ? evalJson(result) : evalTable(result)}\n`);
    });
}

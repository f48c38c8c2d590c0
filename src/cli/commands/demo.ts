import path from 'node:path';
import type { Command } from 'commander';
import { generateDemoCorpus } from '../../demo/generate.ts';

export function register(program: Command): void {
  const demo = program.command('demo').description('the deterministic demo world (companies, products, events; news and comments about them)');
  demo
    .command('generate')
    .description('write the demo secondary-data corpus (news.jsonl, comments.csv, posts/) and sources.json')
    .option('--docs <n>', 'number of secondary documents', (v) => Number(v), 400)
    .option('--seed <n>', 'generator seed', (v) => Number(v), 42)
    .requiredOption('--out <dir>', 'output folder')
    .action(async (opts: { docs: number; seed: number; out: string }) => {
      if (!Number.isInteger(opts.docs) || opts.docs <= 0) throw new Error('--docs must be a positive integer');
      const outDir = path.resolve(opts.out);
      const result = await generateDemoCorpus({ docs: opts.docs, seed: opts.seed, outDir });
      process.stdout.write(`${JSON.stringify({ out_dir: outDir, ...result })}\n`);
    });
}

import path from 'node:path';
import type { Command } from 'commander';
import { generateDemoCorpus } from '../../src/demo/generate.ts';
import { writeDemoCoreFiles } from '../../src/core/demo.ts';
import { loadConfig } from '../../src/config/index.ts';
import { integerIn } from '../options.ts';

export function register(program: Command): void {
  const demo = program.command('demo').description('the deterministic demo world (companies, products, events; news and comments about them)');
  demo
    .command('generate')
    .description('write the demo world: secondary data (news.jsonl, comments.csv, posts/, sources.json) and core records (core/)')
    .option('--docs <n>', 'number of secondary documents', integerIn(1), 400)
    .option('--seed <n>', 'generator seed', integerIn(0), 42)
    .requiredOption('--out <dir>', 'output folder')
    .action(async (opts: { docs: number; seed: number; out: string }) => {
      if (!Number.isInteger(opts.docs) || opts.docs <= 0) throw new Error('--docs must be a positive integer');
      const outDir = path.resolve(opts.out);
      const result = await generateDemoCorpus({ docs: opts.docs, seed: opts.seed, outDir });
      // The same world's core records (companies, people, products, events, reports) for `kb core import`.
      const core = writeDemoCoreFiles(loadConfig().core, path.join(outDir, 'core'));
      process.stdout.write(`${JSON.stringify({ out_dir: outDir, ...result, core_files: core })}\n`);
    });
}

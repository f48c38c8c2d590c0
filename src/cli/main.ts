import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { registerCommands } from './commands/index.ts';

/** Builds the `kb` program; commands live one per file in ./commands. */
export function buildProgram(): Command {
  const program = new Command('kb')
    .description('Self-hosted knowledge assistant: ingestion, retrieval, chat API, LoRA fine-tuning')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`kb: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`kb: ${(err as Error).message}\n`);
    if (process.env.KB_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  }
}

import { Command, CommanderError } from 'commander';
import { ConfigError } from '../src/config/index.ts';
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

/**
 * `kb … | head -1`: the reader goes away and the next write fails with EPIPE. That is the
 * reader's choice, not an error of ours — stop quietly, as Unix tools do.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
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

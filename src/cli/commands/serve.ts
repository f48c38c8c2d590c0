import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { createLogger } from '../../log/index.ts';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the chat API server (OpenAI-compatible /v1, /healthz, /readyz, /metrics)')
    .option('--port <n>', 'port (default: server.port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0-65535, got ${v}`);
      return n;
    })
    .option('--host <host>', 'interface to bind when API keys exist (default: server.host or 0.0.0.0)')
    .action(async (opts: { port?: number; host?: string }) => {
      const config = loadConfig();
      const log = createLogger(config.log.level);
      // Imported here: the server pulls in the embedding runtime, which other commands do not need.
      const { startServer } = await import('../../../serve/main.ts');
      const server = await startServer(config, { port: opts.port, host: opts.host, log });
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            log.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          stopping = true;
          log.info({ signal }, 'signal received');
          server.close().then(resolve, (err: unknown) => {
            log.error({ err }, 'error during shutdown');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}

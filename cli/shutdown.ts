import type { Logger } from '../src/log/index.ts';

/**
 * Resolves once SIGINT/SIGTERM arrived and `onSignal` (the graceful stop) finished. A failing stop
 * is logged and sets exit code 1; a second signal exits at once, for an operator who won't wait.
 */
export function untilShutdownSignal(log: Logger, onSignal: () => Promise<void> | void): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'signal received');
      Promise.resolve()
        .then(onSignal)
        .then(resolve, (err: unknown) => {
          log.error({ err }, 'error during shutdown');
          process.exitCode = 1;
          resolve();
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

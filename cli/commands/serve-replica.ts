import type { Config } from '../../src/config/index.ts';
import type { Logger } from '../../src/log/index.ts';
import { startReplicaServer } from '../../src/snapshot/serve-replica.ts';

/** `kb serve --snapshot-from`: runs a replica until SIGINT/SIGTERM (graceful, like `kb serve`). */
export async function serveReplica(config: Config, source: string, opts: { port?: number; host?: string; log: Logger }): Promise<void> {
  const { log } = opts;
  const abort = new AbortController();
  let server: Awaited<ReturnType<typeof startReplicaServer>> | null = null;
  let stopping = false;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    abort.abort();
    if (!server) return resolveStopped();
    server.close().then(resolveStopped, (err: unknown) => {
      log.error({ err }, 'error during shutdown');
      process.exitCode = 1;
      resolveStopped();
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    server = await startReplicaServer(config, source, { ...opts, signal: abort.signal });
  } catch (err) {
    if (stopping) return; // stopped while waiting for the first snapshot
    throw err;
  }
  if (stopping) await server.close();
  else await stopped;
}

import type { Config } from '../../src/config/index.ts';
import type { Logger } from '../../src/log/index.ts';
import { startReplicaServer } from '../../src/snapshot/serve-replica.ts';
import { untilShutdownSignal } from '../shutdown.ts';

/** `kb serve --snapshot-from`: runs a replica until SIGINT/SIGTERM (graceful, like `kb serve`). */
export async function serveReplica(config: Config, source: string, opts: { port?: number; host?: string; log: Logger }): Promise<void> {
  const { log } = opts;
  const abort = new AbortController();
  let server: Awaited<ReturnType<typeof startReplicaServer>> | null = null;
  let stopping = false;
  const stopped = untilShutdownSignal(log, async () => {
    stopping = true;
    abort.abort(); // stops waiting for the first snapshot
    await server?.close();
  });
  try {
    server = await startReplicaServer(config, source, { ...opts, signal: abort.signal });
  } catch (err) {
    if (stopping) return; // stopped while waiting for the first snapshot
    throw err;
  }
  if (stopping) await server.close();
  else await stopped;
}

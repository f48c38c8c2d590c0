import type { Config } from '../config/index.ts';
import { createEmbedder } from '../embeddings/factory.ts';
import type { Logger } from '../log/index.ts';
import { openBackend } from './backend.ts';
import { registerReplicaMetrics } from './metrics.ts';
import { Replica } from './replica.ts';

export interface ReplicaServer {
  url: string;
  replica: Replica;
  close(): Promise<void>;
}

/**
 * `kb serve --snapshot-from SOURCE`: a stateless API replica. It serves the newest snapshot from
 * its own data folder (<data_dir>/replica/), never ingests and runs no scheduler; it listens once
 * it has one snapshot (a local copy from a previous run, or the first one downloaded).
 * API keys come with the snapshot's store: create them on the ingestion side and publish.
 */
export async function startReplicaServer(config: Config, source: string, opts: { port?: number; host?: string; log: Logger; signal?: AbortSignal }): Promise<ReplicaServer> {
  const { log } = opts;
  const backend = openBackend(source, config.data_dir);
  const embedder = createEmbedder(config);
  const replica = new Replica({ config, backend, embedder, log });
  const stopEarly = () => void replica.stop();
  opts.signal?.addEventListener('abort', stopEarly, { once: true });
  try {
    await replica.start();
  } catch (err) {
    await embedder.dispose?.();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', stopEarly);
  }
  const sw = replica.switch;
  const { startServer } = await import('../../serve/main.ts');
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, {
      port: opts.port,
      host: opts.host,
      log,
      db: sw.db,
      retriever: sw.retriever,
      indexStatus: () => ({ ...sw.pinned().status(), snapshot: replica.status() }),
      wrapHandler: (h) => sw.wrap(h),
      onClose: async () => {
        await replica.stop();
        await embedder.dispose?.();
      },
    });
  } catch (err) {
    // e.g. the port is taken: release the snapshot handles and the model before failing.
    await replica.stop();
    await embedder.dispose?.();
    throw err;
  }
  registerReplicaMetrics(server.kb.deps.metrics.registry, replica);
  return { url: server.url, replica, close: () => server.close() };
}

import type { Command } from 'commander';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { openStore } from '../../src/store/index.ts';
import { storePath } from '../context.ts';
import { runIngestion } from '../../ingest/pipeline.ts';
import { formatReport } from '../../ingest/report.ts';
import { spawnIngestion } from '../../ingest/spawn.ts';
import { startScheduler, type Scheduler } from '../../ingest/scheduler.ts';
import { createProgress } from '../../src/progress/index.ts';
import { resolveBindHost } from '../../serve/bind.ts';
import { untilShutdownSignal } from '../shutdown.ts';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the chat API server (OpenAI-compatible /v1, /healthz, /readyz, /metrics)')
    .option('--port <n>', 'port (default: server.port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0-65535, got ${v}`);
      return n;
    })
    .option('--host <host>', 'interface to bind (default: server.host; only a loopback address while auth.mode is off)')
    .option('--no-scheduler', 'do not run the weekly ingestion schedule in this process')
    .option('--snapshot-from <location>', 'replica mode: serve index snapshots published there (default: snapshot.source)')
    .action(async (opts: { port?: number; host?: string; scheduler: boolean; snapshotFrom?: string }) => {
      const config = loadConfig();
      // Fail on an unsafe bind before a first-start ingestion spends minutes.
      resolveBindHost(config.auth.mode, opts.host ?? config.server.host);
      const log = createLogger(config.log.level, { format: config.log.format });
      const snapshotSource = opts.snapshotFrom ?? config.snapshot.source;
      if (snapshotSource) {
        const { serveReplica } = await import('./serve-replica.ts');
        return serveReplica(config, snapshotSource, { port: opts.port, host: opts.host, log });
      }
      const db = openStore(storePath(config), { check: config.store.check_on_start === 'quick' }); // refuse to serve a damaged store
      const ctx = { config, db, log };

      // First start on an empty store: ingest (the demo world when no sources are configured).
      const everIngested = db.prepare("SELECT count(*) FROM ingest_runs WHERE status IN ('succeeded', 'failed')").pluck().get() as number;
      if (config.server.ingest_on_first_start && everIngested === 0) {
        log.info('first start: running the ingestion job before serving');
        const report = await runIngestion(ctx, { trigger: 'cli', progress: createProgress() });
        process.stderr.write(`${formatReport(report)}\n`);
      }

      // Imported here: the server pulls in the embedding runtime, which other commands do not need.
      const { startServer } = await import('../../serve/main.ts');
      const server = await startServer(config, {
        port: opts.port,
        host: opts.host,
        log,
        db,
        startIngestion: async (o) => ({ run_id: (await spawnIngestion(config, db, 'api', undefined, o?.sources)).run_id }),
      });
      let scheduler: Scheduler | null = null;
      if (config.server.scheduler && opts.scheduler) {
        scheduler = startScheduler({
          expression: config.ingest.schedule,
          timezone: config.ingest.timezone,
          log,
          run: async () => {
            const run = await spawnIngestion(config, db, 'scheduler');
            const code = await run.done;
            if (code !== 0) throw new Error(`scheduled ingestion run ${run.run_id} exited with code ${code}`);
          },
        });
      }
      await untilShutdownSignal(log, () => {
        scheduler?.stop();
        return server.close();
      });
      db.close();
    });
}

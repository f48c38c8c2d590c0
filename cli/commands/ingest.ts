import { Option, type Command } from 'commander';
import { openContext } from '../context.ts';
import { runIngestion } from '../../ingest/pipeline.ts';
import { formatReport } from '../../ingest/report.ts';
import { listQuarantine, quarantineCounts } from '../../ingest/quarantine.ts';
import { startScheduler } from '../../ingest/scheduler.ts';
import { createProgress } from '../../src/progress/index.ts';
import { integerIn } from '../options.ts';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function register(program: Command): void {
  program
    .command('ingest')
    .description('run the ingestion job now: read sources → clean → dedupe → chunk → embed → index')
    .option('--source <name>', 'only this source (repeatable or comma-separated)', list)
    .option('--full', 'reprocess every document even if unchanged (after changing cleaning/chunking settings)')
    .option('--allow-mass-delete', 'let a full-mode source delete more than ingest.max_delete_ratio of its documents')
    .option('--json', 'print the run report as one JSON object')
    .addOption(new Option('--trigger <who>', 'recorded on the run').choices(['cli', 'scheduler', 'api']).default('cli').hideHelp())
    .action(async (opts: { source?: string[]; full?: boolean; allowMassDelete?: boolean; json?: boolean; trigger: 'cli' | 'scheduler' | 'api' }) => {
      const ctx = openContext(undefined, { check: true });
      try {
        const report = await runIngestion(ctx, {
          sources: opts.source,
          full: opts.full,
          allowMassDelete: opts.allowMassDelete,
          trigger: opts.trigger,
          progress: opts.json ? undefined : createProgress(),
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
        if (report.status !== 'succeeded') process.exitCode = 1;
      } finally {
        ctx.close();
      }
    });

  program
    .command('scheduler')
    .description('run ingestion on the cron schedule in config (ingest.schedule); never overlaps another run')
    .option('--run-now', 'also run once at start')
    .action(async (opts: { runNow?: boolean }) => {
      const ctx = openContext(undefined, { check: true, daemon: true });
      const scheduler = startScheduler({
        expression: ctx.config.ingest.schedule,
        timezone: ctx.config.ingest.timezone,
        log: ctx.log,
        run: async () => {
          const report = await runIngestion(ctx, { trigger: 'scheduler' });
          ctx.log.info({ report }, 'scheduled ingestion finished');
        },
      });
      if (opts.runNow) await scheduler.tick();
      await new Promise<void>((resolve) => {
        const stop = () => {
          scheduler.stop();
          ctx.log.info('scheduler stopping');
          const wait = setInterval(() => {
            if (!scheduler.running) {
              clearInterval(wait);
              resolve();
            }
          }, 200);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      ctx.close();
    });

  const q = program.command('quarantine').description('records rejected by ingestion, with their reasons');
  q.command('list')
    .description('list quarantined records (newest first)')
    .option('--run <id>', 'only this run', integerIn(1))
    .option('--source <name>', 'only this source')
    .option('--reason <code>', 'only this reason (e.g. invalid_json, too_short, near_duplicate)')
    .option('--limit <n>', 'at most n rows', integerIn(1), 50)
    .option('--json', 'JSON lines output')
    .action((opts: { run?: number; source?: string; reason?: string; limit: number; json?: boolean }) => {
      const ctx = openContext();
      try {
        const rows = listQuarantine(ctx.db, { runId: opts.run, source: opts.source, reason: opts.reason, limit: opts.limit });
        if (opts.json) {
          for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const counts = quarantineCounts(ctx.db, { runId: opts.run, source: opts.source, reason: opts.reason });
        process.stdout.write(`by reason: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(' · ') || 'none'}\n`);
        for (const r of rows) {
          const raw = r.raw.replace(/\s+/g, ' ').slice(0, 100);
          const runs = r.last_run_id !== null && r.last_run_id !== r.run_id ? `runs ${r.run_id ?? '-'}–${r.last_run_id} (${r.times_seen}×)` : `run ${r.run_id ?? '-'}`;
          process.stdout.write(`#${r.id} ${runs} ${r.source} ${r.locator ?? ''}\n   ${r.reason}: ${r.detail ?? ''}\n   raw: ${raw}\n`);
        }
      } finally {
        ctx.close();
      }
    });
}

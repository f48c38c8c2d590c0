import cron from 'node-cron';
import type { Logger } from '../src/log/index.ts';
import { LockBusyError } from '../src/lock/index.ts';

// `kb scheduler`: runs the weekly ingestion on a cron expression. Overlap is prevented twice:
// within the process (a tick while a run is going is skipped) and across processes (the run
// takes the SQLite `ingest` lock; a busy lock means another process is ingesting).

export interface SchedulerOptions {
  expression: string;
  timezone?: string;
  log: Logger;
  /** One ingestion run; throws LockBusyError when another process holds the lock. */
  run: () => Promise<unknown>;
}

export interface Scheduler {
  /** Triggers a run now (as a tick would); resolves to 'ran' | 'skipped-overlap' | 'skipped-locked' | 'failed'. */
  tick(): Promise<'ran' | 'skipped-overlap' | 'skipped-locked' | 'failed'>;
  stop(): void;
  readonly running: boolean;
}

export function startScheduler(opts: SchedulerOptions): Scheduler {
  if (!cron.validate(opts.expression)) throw new Error(`invalid cron expression "${opts.expression}" (ingest.schedule)`);
  let running = false;
  const tick = async () => {
    if (running) {
      opts.log.warn('previous ingestion still running: this tick is skipped');
      return 'skipped-overlap' as const;
    }
    running = true;
    try {
      await opts.run();
      return 'ran' as const;
    } catch (err) {
      if (err instanceof LockBusyError) {
        opts.log.warn({ holder: err.holder }, 'another process is ingesting: this tick is skipped');
        return 'skipped-locked' as const;
      }
      opts.log.error({ err: (err as Error).message }, 'scheduled ingestion failed');
      return 'failed' as const;
    } finally {
      running = false;
    }
  };
  const task = cron.schedule(opts.expression, () => void tick(), {
    timezone: opts.timezone || undefined,
    name: 'weekly-ingestion',
    noOverlap: true,
  });
  opts.log.info({ schedule: opts.expression, timezone: opts.timezone || 'host' }, 'scheduler started');
  return {
    tick,
    stop: () => void task.stop(),
    get running() {
      return running;
    },
  };
}

import cron, { type ScheduledTask } from 'node-cron';
import { LockBusyError, lockHolder, withLock } from '../../src/lock/index.ts';
import type { DB } from '../../src/store/index.ts';

// The semiannual job: prepare → train → eval → deploy (only when the promotion gate passes).
// It holds the lock "finetune" for its whole length, so it never overlaps itself (across
// processes too), and waits for the lock "ingest" to be free before each step that reads the
// index (prepare reads RAFT passages, eval retrieves), so it never overlaps an index swap.

export const FINETUNE_LOCK = 'finetune';
export const INGEST_LOCK = 'ingest';
export const DEFAULT_SEMIANNUAL_CRON = '0 2 1 1,7 *';

export interface SemiannualSteps {
  prepare(): Promise<{ datasetDir: string }>;
  /** Resolves with the finished run; a run that did not succeed stops the job. */
  train(datasetDir: string): Promise<{ name: string; status: string; errorTail: string | null }>;
  evaluate(run: string): Promise<{ gatePass: boolean; gateReason: string }>;
  deploy(run: string): Promise<{ status: string; message: string }>;
}

export interface JobOptions {
  lockTtlMs: number;
  /** How long to wait for a running ingestion/index swap before giving up. */
  waitForIngestMs: number;
  autoDeploy: boolean;
  pollMs?: number;
  say?(line: string): void;
  sleep?(ms: number): Promise<void>;
}

export type JobOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; step: 'prepare' | 'train' | 'eval' | 'deploy' | 'wait'; reason: string; run?: string }
  | { status: 'not_deployed'; run: string; reason: string }
  | { status: 'deployed'; run: string; reason: string };

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitForLockFree(db: DB, name: string, timeoutMs: number, opts: { pollMs?: number; sleep?(ms: number): Promise<void>; say?(s: string): void } = {}): Promise<void> {
  const sleep = opts.sleep ?? realSleep;
  const poll = opts.pollMs ?? 30_000;
  let waited = 0;
  for (;;) {
    const holder = lockHolder(db, name);
    if (!holder) return;
    if (waited >= timeoutMs) throw new Error(`lock "${name}" is still held by ${holder.owner} (since ${holder.acquired_at}) after waiting ${Math.round(waited / 60000)} min`);
    if (waited === 0) opts.say?.(`waiting for lock "${name}" (held by ${holder.owner} since ${holder.acquired_at})`);
    await sleep(poll);
    waited += poll;
  }
}

export async function runSemiannualJob(db: DB, steps: SemiannualSteps, opts: JobOptions): Promise<JobOutcome> {
  const say = opts.say ?? (() => {});
  const waitIngest = () => waitForLockFree(db, INGEST_LOCK, opts.waitForIngestMs, { pollMs: opts.pollMs, sleep: opts.sleep, say });
  try {
    return await withLock(db, FINETUNE_LOCK, { ttlMs: opts.lockTtlMs }, async () => {
      let step: 'wait' | 'prepare' | 'train' | 'eval' | 'deploy' = 'wait';
      let runName: string | undefined;
      try {
        await waitIngest();
        step = 'prepare';
        say('prepare: building the training set');
        const { datasetDir } = await steps.prepare();
        step = 'train';
        say(`train: dataset ${datasetDir}`);
        const run = await steps.train(datasetDir);
        runName = run.name;
        if (run.status !== 'succeeded') return { status: 'failed', step, run: run.name, reason: `run ${run.name} ${run.status}${run.errorTail ? `: ${run.errorTail.split('\n')[0]}` : ''}` };
        step = 'wait';
        await waitIngest();
        step = 'eval';
        say(`eval: ${run.name}`);
        const gate = await steps.evaluate(run.name);
        if (!gate.gatePass) return { status: 'not_deployed', run: run.name, reason: `promotion gate: ${gate.gateReason}` };
        if (!opts.autoDeploy) return { status: 'not_deployed', run: run.name, reason: `gate passed (${gate.gateReason}); auto_deploy is off: deploy with \`kb finetune deploy ${run.name}\`` };
        step = 'deploy';
        say(`deploy: ${run.name}`);
        const d = await steps.deploy(run.name);
        if (d.status !== 'deployed') return { status: 'not_deployed', run: run.name, reason: d.message };
        return { status: 'deployed', run: run.name, reason: d.message };
      } catch (err) {
        return { status: 'failed', step, run: runName, reason: (err as Error).message };
      }
    });
  } catch (err) {
    if (err instanceof LockBusyError) return { status: 'skipped', reason: `another fine-tune job is running: ${err.message}` };
    throw err;
  }
}

/** Runs `job` on the cron schedule; node-cron's noOverlap + the SQLite lock keep runs single. */
export function scheduleSemiannual(expression: string, timezone: string, job: () => Promise<unknown>): ScheduledTask {
  if (!cron.validate(expression)) throw new Error(`invalid cron expression "${expression}" (finetune_runs.schedule.cron)`);
  return cron.schedule(expression, () => job(), { name: 'finetune-semiannual', noOverlap: true, timezone: timezone || undefined });
}

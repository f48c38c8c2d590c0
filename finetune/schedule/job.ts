import path from 'node:path';
import type { Config } from '../../src/config/index.ts';
import type { Logger } from '../../src/log/index.ts';
import { openRetriever } from '../../src/retrieval/open.ts';
import type { DB } from '../../src/store/index.ts';
import { assistantTarget, evaluateForAssistant } from '../eval/for-assistant.ts';
import { prepareDataset } from '../prepare/index.ts';
import { augmentFromConfig } from '../prepare/augment-config.ts';
import { deployAdapter } from '../registry/deploy.ts';
import { promotionGate } from '../registry/gate.ts';
import { activeAdapter, adapterForRun, getAdapter, versionFor, type AdapterRecord } from '../registry/index.ts';
import { createProgressRenderer } from '../runs/progress.ts';
import { trainNewRun } from '../runs/service.ts';
import { requireRun } from '../runs/store.ts';
import { runSemiannualJob, type JobOutcome } from './index.ts';

// The semiannual job with its real steps (prepare → train → eval → gated deploy), composed from
// configuration; `kb finetune schedule` runs it on its cron schedule.

/** An adapter by version, or the adapter of a run (name or id). */
export function adapterOf(db: DB, ref: string): AdapterRecord {
  const direct = getAdapter(db, ref);
  if (direct) return direct;
  const run = requireRun(db, ref);
  const a = adapterForRun(db, run.id);
  if (!a) throw new Error(`run "${run.name}" has no registered adapter (status ${run.status})`);
  return a;
}

export async function semiannualJob(config: Config, db: DB, log: Logger, say: (line: string) => void): Promise<JobOutcome> {
  const s = config.finetune_runs.schedule;
  const version = versionFor(new Date(), config.finetune_runs.version_prefix);
  return runSemiannualJob(
    db,
    {
      prepare: async () => {
        const outDir = path.resolve(config.data_dir, config.finetune.dataset_dir, version);
        let retriever: Awaited<ReturnType<typeof openRetriever>> | null = null;
        try {
          retriever = await openRetriever(config, db, log);
        } catch (e) {
          say(`retriever unavailable for RAFT passages (${(e as Error).message}); prepare falls back to BM25 from the store`);
        }
        try {
          const summary = await prepareDataset({ db, core: config.core, finetune: config.finetune, outDir, retriever: retriever?.retriever ?? null, modelsDir: path.join(config.data_dir, 'models'), augment: augmentFromConfig(config, outDir, log) });
          summary.warnings.forEach((w) => say(`prepare warning: ${w}`));
          return { datasetDir: summary.out_dir };
        } finally {
          await retriever?.close();
        }
      },
      train: async (datasetDir) => {
        const renderer = createProgressRenderer({ write: (x: string) => process.stderr.write(x), isTTY: false });
        const o = await trainNewRun(db, config, { datasetDir, trigger: 'scheduler' }, { onEvent: (e) => renderer.onEvent(e) });
        return o.run;
      },
      evaluate: async (run) => {
        const r = await evaluateForAssistant(config, db, log, { run, retrieval: true });
        const current = activeAdapter(db, config.finetune_runs.assistant);
        const gate = promotionGate(r.report, { incumbentVersion: current?.version ?? null, incumbentReport: current?.evalReport ?? null, minImprovement: config.finetune_runs.deploy.min_improvement });
        return { gatePass: gate.pass, gateReason: gate.reason };
      },
      deploy: async (run) => {
        const assistant = config.finetune_runs.assistant;
        const r = await deployAdapter(db, { version: adapterOf(db, run).version, assistant, target: assistantTarget(config, assistant).target, minImprovement: config.finetune_runs.deploy.min_improvement, note: 'semiannual job' });
        return { status: r.status, message: [r.message, ...r.instructions].join('\n') };
      },
    },
    { lockTtlMs: s.lock_ttl_seconds * 1000, waitForIngestMs: s.wait_for_ingest_minutes * 60_000, autoDeploy: s.auto_deploy, say },
  );
}

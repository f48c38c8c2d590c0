import { openBackend } from '../src/snapshot/backend.ts';
import { publishSnapshot } from '../src/snapshot/publish.ts';
import type { IngestContext } from './pipeline.ts';
import type { RunReport } from './report.ts';

/**
 * After a successful run, while the ingestion lock is still held: publish the store and the
 * active index files as a snapshot for the API replicas (snapshot.target). A failed publish
 * does not fail the run — this host serves the new data either way — but it is a warning in the
 * report and the log, and the next run (or `kb snapshot publish`) publishes again.
 */
export async function publishAfterIngest(ctx: IngestContext, report: RunReport): Promise<void> {
  const { config, db, log } = ctx;
  const s = config.snapshot;
  if (!s.target || !s.publish_after_ingest || report.status !== 'succeeded') return;
  try {
    const res = await publishSnapshot({ db, dataDir: config.data_dir, backend: openBackend(s.target, config.data_dir), log, keep: s.keep, tmpMaxAgeMs: s.tmp_max_age_minutes * 60_000 });
    report.snapshot = { id: res.manifest.id, bytes: res.manifest.bytes, seconds: res.seconds.total, removed: res.removed };
  } catch (err) {
    const message = (err as Error).message;
    report.snapshot = { error: message };
    report.warnings.push(`snapshot publish failed: ${message}`);
    log.error({ err: message, target: s.target }, 'snapshot publish failed; replicas keep serving the previous snapshot');
  }
}

import { afterEach, describe, expect, it } from 'vitest';
import { article, makeIngestEnv, type IngestEnv } from '../test/helpers/ingest-env.ts';
import { runIngestion } from './pipeline.ts';
import { listQuarantine, quarantineCounts } from './quarantine.ts';

let env: IngestEnv;
afterEach(() => env?.close());

describe('quarantine', () => {
  it('records an unchanged rejected record once across runs, and filters the summary like the list', async () => {
    env = await makeIngestEnv({}, { model: false });
    const good = article(1);
    const records = [good, { ...good, id: 'copy-of-1' }, '{"id": "broken"', { id: 'short', title: 't', body: 'tiny' }];
    env.writeSource(records);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) runs.push((await runIngestion(env.ctx)).run_id);
    const rows = listQuarantine(env.db, { limit: 100 });
    expect(rows.map((r) => r.reason).sort()).toEqual(['exact_duplicate', 'invalid_json', 'too_short']);
    for (const r of rows) expect(r).toMatchObject({ run_id: runs[0], last_run_id: runs[2], times_seen: 3 });
    // A run finds the records it rejected, first or last time.
    expect(listQuarantine(env.db, { runId: runs[2] })).toHaveLength(3);
    expect(quarantineCounts(env.db, { reason: 'too_short' })).toEqual({ too_short: 1 });
    expect(quarantineCounts(env.db)).toEqual({ exact_duplicate: 1, invalid_json: 1, too_short: 1 });

    // A record that changes is a new rejection, with its own row.
    env.writeSource([good, { ...good, id: 'copy-of-1' }, '{"id": "broken", ', { id: 'short', title: 't', body: 'tiny' }]);
    const fourth = (await runIngestion(env.ctx)).run_id;
    const latest = listQuarantine(env.db, { runId: fourth, limit: 100 });
    expect(latest).toHaveLength(3);
    expect(latest.find((r) => r.reason === 'invalid_json')).toMatchObject({ run_id: fourth, times_seen: 1 });
    expect(listQuarantine(env.db, { limit: 100 })).toHaveLength(4);
  });
});

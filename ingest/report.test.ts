import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeIngestEnv, type IngestEnv } from '../test/helpers/ingest-env.ts';
import { runIngestion } from './pipeline.ts';
import { formatReport } from './report.ts';

let env: IngestEnv;
afterEach(() => env?.close());

describe('run report', () => {
  it('names a source that could not be read and why, in the report itself', async () => {
    env = await makeIngestEnv({}, { model: false }); // the JSONL file is never written: it does not exist
    const report = await runIngestion(env.ctx);
    expect(report.status).toBe('failed');
    const missing = path.join(env.dir, 'news.jsonl');
    expect(report.error).toContain(`source "news": jsonl path ${missing} does not exist`);
    expect(formatReport(report)).toContain(`${missing} does not exist`);
    expect(formatReport(report)).not.toContain('sources.*');
  });
});

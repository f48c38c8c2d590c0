import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { silentLogger } from '../../src/log/index.ts';
import { activeVersion } from '../../src/vector/versions.ts';
import { startServer, type RunningServer } from '../../serve/main.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// The weekly job writes a new index version while the server answers: no request may fail, and
// the server must start serving the new version by itself.

let env: IngestEnv | null = null;
let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  env?.close();
  env = null;
});

// In the server's own thread, and in a pool of worker threads where each worker must notice the
// new version by itself (the status reports the oldest version any worker still serves).
describe.each([
  { workers: 0, where: 'in-process retrieval' },
  { workers: 2, where: 'retrieval in 2 worker threads' },
])('index hot reload under load ($where)', ({ workers }) => {
  it('keeps answering while ingestion activates a new index version, then serves it', async () => {
    env = await makeIngestEnv({ server: { retrieval_workers: workers }, index: { reload_interval_ms: 100 }, auth: { rate_limit: { requests_per_minute: 1_000_000, burst: 100_000 }, max_body_bytes: 1_048_576 } });
    env.writeSource(Array.from({ length: 30 }, (_, i) => article(i + 1)));
    await runIngestion(env.ctx);
    const v1 = activeVersion(env.db)!.id;

    server = await startServer(env.config, { db: env.db, log: silentLogger, port: 0 });
    const url = server.url;
    const retrieve = async (query: string, mode = 'hybrid') => {
      const r = await fetch(`${url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, top_k: 5, mode }),
      });
      return { status: r.status, body: (await r.json()) as { data: unknown[]; degraded: string[] } };
    };
    const status = async () => {
      const body = (await (await fetch(`${url}/v1/admin/index`)).json()) as { reader: { version: number | null } };
      if (!body.reader) throw new Error(JSON.stringify(body));
      return body;
    };
    expect((await status()).reader.version).toBe(v1);

    // Clients keep asking while next week's documents are ingested and a new version is activated.
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) statuses.push((await retrieve('battery product Shanghai')).status);
    });
    env.writeSource([...Array.from({ length: 30 }, (_, i) => article(i + 1)), ...Array.from({ length: 20 }, (_, i) => article(500 + i, 'robot'))]);
    const report = await runIngestion(env.ctx);
    const v2 = activeVersion(env.db)!.id;
    expect(report.index?.added).toBeGreaterThan(0);
    expect(v2).not.toBe(v1);

    // The reader notices the new version on its own (reload_interval_ms) and swaps it in.
    const deadline = Date.now() + 20_000;
    while ((await status()).reader.version !== v2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(clients);
    expect((await status()).reader.version).toBe(v2);
    if (workers > 0) expect((await status()).reader).toMatchObject({ versions: [v2], workers: Array.from({ length: workers }, () => ({ ready: true, version: v2 })) });
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.every((s) => s === 200)).toBe(true);

    // The new documents are reachable through the dense leg, i.e. from the new index file.
    const dense = await retrieve('robot product Shanghai company', 'dense');
    expect(dense.status).toBe(200);
    expect(dense.body.degraded).toEqual([]);
    expect(JSON.stringify(dense.body.data)).toMatch(/n-5\d\d/);
  });
});

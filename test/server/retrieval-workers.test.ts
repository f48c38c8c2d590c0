import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { silentLogger } from '../../src/log/index.ts';
import { RetrievalPool } from '../../src/retrieval/pool/pool.ts';
import type { RetrieveRequest, RetrieveResult, Retriever } from '../../src/retrieval/types.ts';
import { startServer, type RunningServer } from '../../serve/main.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// The server with retrieval in worker threads: health stays responsive while retrieval is
// saturated, and saturation / a crashed worker reach clients as 503 + Retry-After in the OpenAI
// error shape. The fixture worker is the real one plus hooks ("__busy__ <ms>" spins that long).

const FIXTURE = new URL('../fixtures/retrieval-worker.ts', import.meta.url);

let env: IngestEnv;
beforeAll(async () => {
  env = await makeIngestEnv({ auth: { rate_limit: { requests_per_minute: 1_000_000, burst: 100_000 } } });
  env.writeSource(Array.from({ length: 12 }, (_, i) => article(i + 1)));
  await runIngestion(env.ctx);
}, 60_000);
afterAll(() => env?.close());

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(retriever: Retriever, pool?: RetrievalPool): Promise<RunningServer> {
  server = await startServer(env.config, {
    db: env.db,
    retriever,
    indexStatus: pool ? () => pool.indexStatus() : () => ({ loaded: true }),
    log: silentLogger,
    port: 0,
    onClose: () => pool?.close(),
  });
  return server;
}

const startPool = (o: { workers: number; concurrency: number; queueDepth: number }) =>
  RetrievalPool.start({ config: env.config, storeFile: env.db.name, queueTimeoutMs: 30_000, embeddingThreads: 1, log: silentLogger, script: FIXTURE, ...o });

const post = (url: string, path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* CPU-bound retrieval on the server thread */
  }
}

/** /healthz latencies (ms), sequential, for as long as `load` keeps retrieval busy. */
async function healthWhileBusy(url: string, load: Promise<unknown>): Promise<number[]> {
  let done = false;
  void load.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const t = performance.now();
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

describe('server with retrieval worker threads', () => {
  it('answers /healthz promptly while every worker is saturated (and cannot when retrieval runs on the server thread)', async () => {
    const BUSY = 1500;
    // Control: retrieval on the server's own thread blocks health checks for the whole query.
    const inline: Retriever = {
      async retrieve(_req: RetrieveRequest): Promise<RetrieveResult> {
        // Yield first: this test's client shares the server's thread, so a health check must
        // already be in flight when the CPU-bound part starts.
        await new Promise((r) => setTimeout(r, 300));
        spin(BUSY);
        return { hits: [], timings: {}, degraded: [] };
      },
    };
    let s = await serve(inline);
    const blocked = await healthWhileBusy(s.url, post(s.url, '/v1/retrieve', { query: 'battery' }));
    expect(Math.max(...blocked)).toBeGreaterThan(BUSY / 2);
    await s.close();

    // Pool: 2 workers × 1 slot, 8 heavy queries → ≥ 6 s of saturated retrieval.
    const pool = await startPool({ workers: 2, concurrency: 1, queueDepth: 64 });
    s = await serve(pool, pool);
    const t0 = performance.now();
    const load = Promise.all(Array.from({ length: 8 }, () => post(s.url, '/v1/retrieve', { query: `__busy__ ${BUSY} battery`, top_k: 3 }).then((r) => r.status)));
    const latencies = await healthWhileBusy(s.url, load);
    expect(latencies.length).toBeGreaterThan(20);
    const statuses = await load;
    expect(statuses.every((st) => st === 200)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThan(4 * BUSY - 100); // it really was saturated
    // Generous bound (a shared, loaded CI machine): half of one query's time, where the control
    // above waited for the whole query.
    expect(Math.max(...latencies)).toBeLessThan(BUSY / 2);
  }, 180_000);

  it('reports saturation and a crashed worker as 503 + Retry-After in the OpenAI error shape', async () => {
    const pool = await startPool({ workers: 1, concurrency: 1, queueDepth: 0 });
    const s = await serve(pool, pool);
    const running = post(s.url, '/v1/retrieve', { query: '__busy__ 1200 battery', top_k: 3 });
    await new Promise((r) => setTimeout(r, 200));
    for (const [path, body] of [
      ['/v1/retrieve', { query: 'battery' }],
      ['/v1/chat/completions', { model: 'kb-assistant', messages: [{ role: 'user', content: 'battery?' }] }],
    ] as const) {
      const res = await post(s.url, path, body);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toEqual({ error: { type: 'service_unavailable', code: 'retrieval_overloaded', param: null, message: expect.stringMatching(/saturated/) } });
    }
    expect((await running).status).toBe(200);

    const crashed = await post(s.url, '/v1/retrieve', { query: '__exit__' });
    expect(crashed.status).toBe(503);
    expect(crashed.headers.get('retry-after')).toBe('1');
    expect(await crashed.json()).toMatchObject({ error: { type: 'service_unavailable', code: 'retrieval_worker_failed' } });
    // /readyz says not ready while the only worker restarts, ready again once it is back.
    const deadline = Date.now() + 90_000;
    let ready = await fetch(`${s.url}/readyz`);
    while (ready.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await fetch(`${s.url}/readyz`);
    }
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { index: { ok: true, loaded: true, workers: [{ slot: 0, ready: true }], pool: { restarts: 1 } } } });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^kb_retrieval_worker_restarts 1$/m);
    expect(metrics).toMatch(/^kb_retrieval_workers_ready 1$/m);
    expect(metrics).toMatch(/^kb_retrieval_queued 0$/m);
    expect(metrics).toMatch(/kb_retrieval_leg_duration_seconds_count\{leg="queue"\} [1-9]/);
    const again = await post(s.url, '/v1/retrieve', { query: 'battery product', top_k: 3 });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
  }, 180_000);
});

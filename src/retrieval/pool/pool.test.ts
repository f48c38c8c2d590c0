import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runIngestion } from '../../../ingest/pipeline.ts';
import { article, makeIngestEnv, type IngestEnv } from '../../../test/helpers/ingest-env.ts';
import { silentLogger } from '../../log/index.ts';
import { activeVersion } from '../../vector/versions.ts';
import { RetrievalRequestError } from '../hybrid.ts';
import { openRetriever, type OpenedRetriever } from '../open.ts';
import type { RetrieveRequest } from '../types.ts';
import { RetrievalUnavailableError } from './errors.ts';
import { RetrievalPool, type RetrievalPoolOptions } from './pool.ts';

// The pool must be a drop-in for the in-process retriever (same hits, scores and order), follow
// new index versions in every worker, survive a crashing worker, refuse work beyond its queue,
// and drain on close. A test corpus is ingested once (tiny model: BM25 + dense legs both run).

const FIXTURE = new URL('../../../test/fixtures/retrieval-worker.ts', import.meta.url);

let env: IngestEnv;
beforeAll(async () => {
  // Recency off: its multiplier reads the clock, which differs between two runs by microseconds.
  env = await makeIngestEnv({ index: { reload_interval_ms: 100 }, retrieval: { recency: { enabled: false } } });
  env.writeSource([
    ...Array.from({ length: 24 }, (_, i) => article(i + 1)),
    ...Array.from({ length: 8 }, (_, i) => ({ ...article(100 + i, 'robot'), groups: ['sales'] })),
    ...Array.from({ length: 8 }, (_, i) => ({ ...article(200 + i, 'chip'), kind: 'post' })),
  ]);
  await runIngestion(env.ctx);
}, 60_000);
afterAll(() => env?.close());

const pools: RetrievalPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close(0);
});

const poolDefaults = (): RetrievalPoolOptions => ({
  config: env.config,
  storeFile: env.db.name,
  workers: 2,
  concurrency: 2,
  queueDepth: 64,
  queueTimeoutMs: 10_000,
  embeddingThreads: 1,
  log: silentLogger,
  statusIntervalMs: 50,
});

async function startPool(o: Partial<RetrievalPoolOptions> = {}): Promise<RetrievalPool> {
  const pool = await RetrievalPool.start({ ...poolDefaults(), ...o });
  pools.push(pool);
  return pool;
}

const until = async (what: string, ok: () => boolean, ms = 90_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const STAGES = ['embed', 'bm25', 'dense', 'fuse', 'hydrate', 'order'];

// Worker threads start in seconds, but a loaded shared machine can stretch that a lot.
describe('openRetriever warm-up (what every worker does before it reports ready)', () => {
  it('loads the filter catalog up front with warm, so the first filtered request does not pay for it', async () => {
    const cold = await openRetriever(env.config, env.db, silentLogger, { watch: false });
    const warm = await openRetriever(env.config, env.db, silentLogger, { watch: false, warm: true });
    try {
      expect(cold.retriever.catalog.loaded).toBe(false);
      expect(warm.retriever.catalog.loaded).toBe(true);
      const req: RetrieveRequest = { query: 'robot company news', topK: 4, groups: ['sales'], mode: 'dense' };
      const [c, w] = [await cold.retriever.retrieve(req), await warm.retriever.retrieve(req)];
      expect(c.timings.catalog).toBeGreaterThanOrEqual(0); // loaded on the request
      expect(w.timings.catalog).toBeUndefined();
      expect(w.hits).toEqual(c.hits);
    } finally {
      await cold.close();
      await warm.close();
    }
  });
});

describe('RetrievalPool', { timeout: 180_000 }, () => {
  // One 2-worker pool for these (worker start is the slow part of this file); the fixture
  // worker is the real one plus hooks that only react to magic queries. Order matters: the
  // crash test replaces workers, the hot-reload test changes the corpus for what follows.
  describe('one shared pool', () => {
    let pool: RetrievalPool;
    beforeAll(async () => {
      pool = await RetrievalPool.start({ ...poolDefaults(), script: FIXTURE });
    }, 180_000);
    afterAll(() => pool?.close(0));

    it('returns exactly what the in-process retriever returns (hits, scores, order, degraded)', async () => {
      let local: OpenedRetriever | null = null;
      try {
        local = await openRetriever(env.config, env.db, silentLogger, { watch: false });
        const requests: RetrieveRequest[] = [];
        for (const query of ['battery product Shanghai', 'robot company news', 'chip launch analysts', 'revenue profit 4711', '公司 新产品']) {
          for (const mode of ['hybrid', 'dense', 'bm25'] as const) {
            requests.push({ query, topK: 6, groups: null, mode });
            requests.push({ query, topK: 6, groups: ['sales'], mode });
            requests.push({ query, topK: 4, groups: [], mode, filters: { kinds: ['post'] } });
          }
        }
        // All at once: several run concurrently in each worker.
        const [ours, theirs] = await Promise.all([Promise.all(requests.map((r) => pool.retrieve(r))), Promise.all(requests.map((r) => local!.retriever.retrieve(r)))]);
        let nonEmpty = 0;
        ours.forEach((o, i) => {
          expect(o.hits, JSON.stringify(requests[i])).toEqual(theirs[i].hits);
          expect(o.degraded).toEqual(theirs[i].degraded);
          if (o.hits.length) nonEmpty++;
        });
        expect(nonEmpty).toBeGreaterThan(requests.length / 2);
        expect(ours.every((o) => o.degraded.length === 0)).toBe(true); // both legs really ran
        // ACL holds inside the workers: a key without "sales" never sees the robot articles.
        for (const [i, r] of requests.entries()) if (r.groups?.length === 0) expect(ours[i].hits.every((h) => !h.externalId.startsWith('n-10'))).toBe(true);

        // Per-stage timings come back from the worker, plus the pool's queue wait and hand-off.
        const t = ours[0].timings;
        for (const k of [...STAGES, 'queue', 'transfer', 'total']) expect(t[k], k).toBeGreaterThanOrEqual(0);
        expect(t.total).toBeGreaterThanOrEqual(t.queue);
      } finally {
        await local?.close();
      }
    });

    it('keeps the retriever’s own request errors (a 400 for the HTTP layer), not a crash', async () => {
      const err = await pool.retrieve({ query: 'battery', topK: 0, groups: null }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetrievalRequestError);
      expect((err as Error).message).toMatch(/topK must be an integer/);
      expect(pool.stats().restarts).toBe(0);
    });

    it('fails the requests of a crashed worker cleanly and replaces the worker', async () => {
      for (const [query, code] of [
        ['__exit__', /exit code 3/],
        ['__throw__', /worker blew up/],
      ] as const) {
        const restarts = pool.stats().restarts;
        const err = await pool.retrieve({ query, topK: 3, groups: null }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RetrievalUnavailableError);
        expect(err).toMatchObject({ code: 'retrieval_worker_failed', retryAfterSeconds: 1 });
        expect((err as Error).message).toMatch(code);
        expect(pool.stats().restarts).toBe(restarts + 1);
        // Meanwhile the other worker keeps serving …
        const ok = await pool.retrieve({ query: 'battery product', topK: 3, groups: null });
        expect(ok.hits.length).toBeGreaterThan(0);
        // … and the replacement comes up and serves too.
        await until('the replacement worker', () => pool.stats().ready === 2);
        const all = await Promise.all(Array.from({ length: 6 }, () => pool.retrieve({ query: 'chip launch', topK: 3, groups: null })));
        expect(all.every((r) => r.hits.length > 0)).toBe(true);
      }
      expect(pool.indexStatus()).toMatchObject({ loaded: true, available: true });
    });

    it('hot-reloads a newly activated index version in every worker', async () => {
      const v1 = activeVersion(env.db)!.id;
      expect(pool.indexStatus()).toMatchObject({ loaded: true, version: v1, versions: [v1] });
      env.writeSource([
        ...Array.from({ length: 24 }, (_, i) => article(i + 1)),
        ...Array.from({ length: 8 }, (_, i) => ({ ...article(100 + i, 'robot'), groups: ['sales'] })),
        ...Array.from({ length: 8 }, (_, i) => ({ ...article(200 + i, 'chip'), kind: 'post' })),
        ...Array.from({ length: 6 }, (_, i) => article(300 + i, 'satellite')),
      ]);
      await runIngestion(env.ctx);
      const v2 = activeVersion(env.db)!.id;
      expect(v2).not.toBe(v1);
      await until('every worker to serve the new version', () => pool.indexStatus().workers.every((w) => w.version === v2));
      expect(pool.indexStatus()).toMatchObject({ loaded: true, version: v2, versions: [v2], activeVersion: v2 });
      // Whichever worker answers, the new documents are found through the dense index.
      const results = await Promise.all(Array.from({ length: 8 }, () => pool.retrieve({ query: 'satellite product Shanghai company', topK: 5, groups: null, mode: 'dense' })));
      for (const r of results) {
        expect(r.degraded).toEqual([]);
        expect(r.hits.some((h) => /^n-30\d$/.test(h.externalId))).toBe(true);
      }
      // The BM25 leg of every worker loads the run's new BM25 version in the background and
      // switches to it: the new documents are found by BM25 alone, whichever worker answers.
      const bm25Finds = async () => {
        const rs = await Promise.all(Array.from({ length: 8 }, () => pool.retrieve({ query: 'satellite', topK: 5, groups: null, mode: 'bm25' })));
        return rs.every((r) => r.degraded.length === 0 && r.hits.some((h) => /^n-30\d$/.test(h.externalId)));
      };
      const deadline = Date.now() + 60_000;
      while (!(await bm25Finds())) {
        if (Date.now() > deadline) throw new Error('timed out waiting for every worker to search the new BM25 version');
        await new Promise((r) => setTimeout(r, 100));
      }
    });

  });

  it('refuses work beyond the queue bound and past the queue timeout (503-class), not unbounded latency', async () => {
    const pool = await startPool({ workers: 1, concurrency: 1, queueDepth: 1, queueTimeoutMs: 60_000, script: FIXTURE });
    const busy = (ms: number) => pool.retrieve({ query: `__busy__ ${ms}`, topK: 3, groups: null });
    const running = busy(600);
    const queued = busy(10);
    const refused = await busy(10).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RetrievalUnavailableError);
    expect(refused).toMatchObject({ code: 'retrieval_overloaded' });
    expect((refused as Error).message).toMatch(/1 waiting/);
    const [a, b] = await Promise.all([running, queued]);
    expect(a.timings.total).toBeGreaterThanOrEqual(600);
    expect(b.timings.queue).toBeGreaterThan(100); // it waited for the busy worker, and says so

    const timed = await startPool({ workers: 1, concurrency: 1, queueDepth: 8, queueTimeoutMs: 100, script: FIXTURE });
    const long = timed.retrieve({ query: '__busy__ 800', topK: 3, groups: null });
    const late = await timed.retrieve({ query: 'battery', topK: 3, groups: null }).catch((e: unknown) => e);
    expect(late).toMatchObject({ name: 'RetrievalUnavailableError', code: 'retrieval_overloaded', message: expect.stringMatching(/within 100 ms/) });
    await long;
  });

  it('close() drains queued and running requests, then refuses new ones and stops the workers', async () => {
    const pool = await startPool({ workers: 1, concurrency: 1, script: FIXTURE });
    const inflight = [pool.retrieve({ query: '__busy__ 300 battery', topK: 3, groups: null }), pool.retrieve({ query: 'battery product', topK: 3, groups: null })];
    expect(pool.stats()).toMatchObject({ inflight: 1, queued: 1 });
    const closed = pool.close(10_000);
    const refused = await pool.retrieve({ query: 'battery', topK: 3, groups: null }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'RetrievalUnavailableError', code: 'shutting_down' });
    const done = await Promise.all(inflight);
    expect(done.every((r) => r.hits.length > 0)).toBe(true);
    await closed;
    expect(pool.stats()).toMatchObject({ ready: 0, inflight: 0, queued: 0 });
    expect(pool.indexStatus().available).toBe(false);
  });

  it('fails to start with the reason when the store cannot be opened', async () => {
    const err = await startPool({ workers: 2, storeFile: `${env.dir}/missing/kb.sqlite` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/could not open the retriever/);
  });
});

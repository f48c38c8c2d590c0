import fs from 'node:fs';
import { createKey, type KeyScope } from '../../src/auth/keys.ts';
import { silentLogger } from '../../src/log/index.ts';
import { runIngestion } from '../../ingest/pipeline.ts';
import type { RunReport } from '../../ingest/report.ts';
import { startServer, type RunningServer } from '../../serve/main.ts';
import { activeVersion } from '../../src/vector/versions.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// A real server over a real temp data folder: the tiny embedding model, a JSONL news source,
// the real hybrid retriever, and ingestion runs started in-process through the same hook the
// admin and upload APIs use (the CLI server spawns `kb ingest` instead).

export interface LiveServer {
  env: IngestEnv;
  server: RunningServer;
  url: string;
  secrets: Record<string, string>;
  /** Every run started through the API, in order. */
  runs: Promise<RunReport>[];
  /** Waits for every run started so far (including ones started while waiting), then for the server to load the index version they activated. */
  settle(): Promise<RunReport[]>;
  close(): Promise<void>;
}

export async function startLiveServer(opts: { keys?: Array<{ name: string; scopes: KeyScope[]; groups: string[] }>; overrides?: Record<string, unknown>; articles?: number } = {}): Promise<LiveServer> {
  // Keys mean nothing unless auth.mode requires them (it is never inferred from the key count).
  // The browser tests drive one key through dozens of pages and API calls in seconds; the
  // per-key rate limit (default burst 30, 2/s) would answer some of them 429 on a fast machine
  // and make the tests depend on its speed. Rate limiting has its own tests (serve/middleware).
  const auth = opts.keys?.length ? { auth: { mode: 'required', rate_limit: { requests_per_minute: 100_000, burst: 10_000 } } } : {};
  const env = await makeIngestEnv({ index: { reload_interval_ms: 200 }, uploads: { ingest_retry_seconds: 1 }, ...auth, ...opts.overrides });
  env.writeSource(Array.from({ length: opts.articles ?? 6 }, (_, i) => article(i + 1)));
  await runIngestion(env.ctx, { trigger: 'cli' });
  const secrets: Record<string, string> = {};
  for (const k of opts.keys ?? []) secrets[k.name] = createKey(env.db, k).secret;
  const runs: Promise<RunReport>[] = [];
  const server = await startServer(env.config, {
    db: env.db,
    log: silentLogger,
    port: 0,
    host: '127.0.0.1',
    startIngestion: (o) =>
      new Promise((resolve, reject) => {
        // Only runs that started count (one refused by the ingest lock rejects, as spawnIngestion does).
        const run: Promise<RunReport> = runIngestion(env.ctx, {
          sources: o?.sources,
          trigger: 'api',
          onStarted: (runId) => {
            runs.push(run);
            resolve({ run_id: runId });
          },
        });
        run.catch(reject);
      }),
  });
  const settle = async () => {
    let seen = -1;
    while (seen !== runs.length) {
      seen = runs.length;
      await Promise.allSettled(runs);
    }
    const reports = await Promise.all(runs);
    // The server's reader picks up a new dense index version on its reload timer: until then the
    // new chunks are found by BM25 only, and a test asking about them would race the reload.
    const want = activeVersion(env.db)?.id ?? null;
    const deadline = Date.now() + 10_000;
    while (want !== null && Date.now() < deadline) {
      const st = (await server.kb.deps.indexStatus?.()) as { version?: number | null } | undefined;
      if (!st || st.version === want) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The BM25 engine leg checks for a newly activated version at most once a second
    // (src/bm25/leg.ts): give it that second, so a search right after sees the run's version.
    if (reports.length) await new Promise((r) => setTimeout(r, 1_100));
    return reports;
  };
  return {
    env,
    server,
    url: server.url,
    secrets,
    runs,
    settle,
    async close() {
      await settle().catch(() => {});
      await server.close();
      env.close();
      fs.rmSync(env.dir, { recursive: true, force: true });
    },
  };
}

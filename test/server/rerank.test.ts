import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { silentLogger } from '../../src/log/index.ts';
import { startServer, type RunningServer } from '../../serve/main.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// The reranking stage wired end to end: `rerank.provider: http` in the configuration makes the
// server's retriever (the same one `kb eval retrieval` measures) call a TEI-style /rerank service,
// and /v1/retrieve shows its scores, the moves it caused, and why it was skipped when it fails.

let env: IngestEnv | null = null;
let server: RunningServer | null = null;
let reranker: http.Server | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  env?.close();
  env = null;
  reranker?.closeAllConnections();
  await new Promise((r) => (reranker ? reranker.close(r) : r(undefined)));
  reranker = null;
});

/** A TEI-style /rerank service that prefers passages mentioning `word`, or fails with 503. */
async function teiService(word: string, state: { fail: boolean; calls: number }): Promise<string> {
  reranker = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      state.calls++;
      if (state.fail) {
        res.writeHead(503).end('overloaded');
        return;
      }
      const { texts } = JSON.parse(data) as { texts: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(texts.map((t, index) => ({ index, score: t.includes(word) ? 1 : 0 }))));
    });
  });
  await new Promise<void>((r) => reranker!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(reranker.address() as AddressInfo).port}/rerank`;
}

describe('/v1/retrieve with an http reranker', () => {
  it('reorders by the reranker, explains it, and degrades with the reason when the service fails', async () => {
    const state = { fail: false, calls: 0 };
    const url = await teiService('Company 10 battery', state); // article 10's title (the service sees title + chunk text)
    env = await makeIngestEnv({ rerank: { provider: 'http', head: 20, timeout_ms: 5000, http: { url, api: 'tei', model: '', api_key: '' } } });
    env.writeSource(Array.from({ length: 12 }, (_, i) => article(i + 1)));
    await runIngestion(env.ctx);
    server = await startServer(env.config, { db: env.db, log: silentLogger, port: 0 });
    const retrieve = async () => {
      const r = await fetch(`${server!.url}/v1/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'battery product Shanghai', top_k: 5, mode: 'bm25' }) });
      return { headers: r.headers, body: (await r.json()) as { data: Array<{ external_id: string; score: Record<string, unknown> & { rerank: number | null; rrf_rank: number; moves: Array<{ stage: string; from: number; to: number }> } }>; ranking: { rerank: string }; degraded: string[] } };
    };

    const ok = await retrieve();
    expect(state.calls).toBe(1);
    expect(ok.body.ranking.rerank).toBe('applied');
    expect(ok.body.data[0].external_id).toBe('n-10');
    expect(ok.body.data[0].score.rerank).toBe(1);

    state.fail = true;
    const failed = await retrieve();
    expect(failed.body.ranking.rerank).toMatch(/^skipped: .*HTTP 503: overloaded/);
    expect(failed.body.degraded.some((d) => d.startsWith('rerank: '))).toBe(true);
    expect(failed.headers.get('x-kb-degraded')).toContain('rerank');
    expect(failed.body.data).toHaveLength(5); // still answered, in the fused order
    expect(failed.body.data.every((h) => h.score.rerank === null)).toBe(true);
    // The fused order alone does not put article 10 first: the reranker did.
    expect(failed.body.data[0].external_id).not.toBe('n-10');
    expect(ok.body.data[0].score.moves.map((m) => m.stage)).toContain('rerank');
    // snake_case like the rest of the API: where RRF alone put it, and where the reranker took it from.
    expect(ok.body.data[0].score).not.toHaveProperty('rrfRank');
    expect(ok.body.data[0].score.rrf_rank).toBeGreaterThan(1);
    expect(ok.body.data[0].score.moves.find((m) => m.stage === 'rerank')).toMatchObject({ to: 1 });
  });
});

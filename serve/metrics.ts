import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../src/retrieval/pool/pool.ts';

// Prometheus metrics on a private registry (several servers in one process — tests — do not clash).

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'kb_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'kb_http_request_duration_seconds',
    help: 'HTTP request latency by route (streamed responses: until the last byte)',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly retrievalLeg = new Histogram({
    name: 'kb_retrieval_leg_duration_seconds',
    help: 'Retrieval latency per stage (embed, dense, bm25, fuse, total)',
    labelNames: ['leg'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'kb_upstream_duration_seconds',
    help: 'Upstream model call latency (streams: until the last chunk) by assistant and outcome',
    labelNames: ['assistant', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'kb_llm_tokens_total',
    help: 'Tokens by assistant and type (prompt/completion); source=upstream when reported by it, else estimate',
    labelNames: ['assistant', 'type', 'source'] as const,
    registers: [this.registry],
  });
  readonly answers = new Counter({
    name: 'kb_chat_answers_total',
    help: 'Chat answers by assistant and mode (generated, extractive, degraded)',
    labelNames: ['assistant', 'mode'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'kb_process_' });
  }

  observeRetrieval(timings: Record<string, number>): void {
    for (const [leg, ms] of Object.entries(timings)) if (Number.isFinite(ms)) this.retrievalLeg.observe({ leg }, ms / 1000);
  }

  /** Retrieval worker pool gauges, read at scrape time (queue depth shows saturation before 503s do). */
  observeRetrievalPool(stats: () => PoolStats): void {
    const gauge = (name: string, help: string, pick: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(stats()));
        },
      });
    gauge('kb_retrieval_workers', 'Retrieval worker threads configured', (s) => s.workers);
    gauge('kb_retrieval_workers_ready', 'Retrieval worker threads ready to take requests', (s) => s.ready);
    gauge('kb_retrieval_inflight', 'Retrievals running in worker threads', (s) => s.inflight);
    gauge('kb_retrieval_queued', 'Retrievals waiting for a free worker', (s) => s.queued);
    gauge('kb_retrieval_worker_restarts', 'Retrieval worker threads replaced since start (crashes)', (s) => s.restarts);
  }
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  /** Set by the app: the dense index's state, read at scrape time. */
  indexState: (() => Promise<{ state: string; serving: number | null; active: number | null } | null>) | null = null;
  private readonly denseStates = ['ok', 'loading', 'no_index', 'fallback', 'bm25_only'] as const;
  readonly denseIndex: Gauge<'state'>;
  readonly denseVersion: Gauge<'kind'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const self = this;
    this.denseIndex = new Gauge({
      name: 'kb_dense_index_state',
      help: 'Dense index state (1 = current): ok, loading, no_index, fallback (an older version serves because the active file failed verification), bm25_only',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const st = await self.indexState?.().catch(() => null);
        if (!st) return;
        for (const s of self.denseStates) this.set({ state: s }, s === st.state ? 1 : 0);
      },
    });
    this.denseVersion = new Gauge({
      name: 'kb_dense_index_version',
      help: 'Dense index version id: the one active in the store and the one being served (absent when none)',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      async collect() {
        const st = await self.indexState?.().catch(() => null);
        this.reset();
        if (st?.active != null) this.set({ kind: 'active' }, st.active);
        if (st?.serving != null) this.set({ kind: 'serving' }, st.serving);
      },
    });

    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'kb_process_' });
  }

  observeRetrieval(timings: Record<string, number>): void {
    for (const [leg, ms] of Object.entries(timings)) if (Number.isFinite(ms)) this.retrievalLeg.observe({ leg }, ms / 1000);
  }
}

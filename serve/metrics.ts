import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../src/log/index.ts';

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
  readonly upstreamInvalidUsage = new Counter({
    name: 'kb_upstream_invalid_usage_total',
    help: 'Upstream answers whose token usage was invalid (non-numeric, negative) and was replaced by the estimate',
    labelNames: ['assistant'] as const,
    registers: [this.registry],
  });
  readonly recordingErrors = new Counter({
    name: 'kb_metrics_recording_errors_total',
    help: 'Metric updates that failed (bad value or labels) and were skipped instead of failing the request',
    labelNames: ['metric'] as const,
    registers: [this.registry],
  });
  /** Where failed metric updates are logged (once per metric); set by createApp. */
  log: Logger | null = null;
  private readonly loggedFailures = new Set<string>();

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
    // Every metric registered so far (the fields above); createApp calls guardAll() again for later ones.
    this.guardAll();
  }

  /**
   * Makes inc/dec/set/observe of every registered metric unable to throw: prom-client throws on
   * a non-numeric value or an unknown label, and a metric must never fail the request it
   * describes. A failure is counted in kb_metrics_recording_errors_total and logged once.
   */
  guardAll(): void {
    for (const metric of this.registry.getMetricsAsArray()) {
      const m = metric as unknown as Record<string, unknown> & { name: string; __kbGuarded?: boolean };
      if (m.__kbGuarded) continue;
      m.__kbGuarded = true;
      for (const method of ['inc', 'dec', 'set', 'observe']) {
        const fn = m[method];
        if (typeof fn !== 'function') continue;
        m[method] = (...args: unknown[]) => {
          try {
            return (fn as (...a: unknown[]) => unknown).apply(metric, args);
          } catch (err) {
            this.recordingFailed(m.name, err);
            return undefined;
          }
        };
      }
    }
  }

  private recordingFailed(name: string, err: unknown): void {
    try {
      if (name !== 'kb_metrics_recording_errors_total') this.recordingErrors.inc({ metric: name });
    } catch {
      /* never throw from here */
    }
    if (!this.loggedFailures.has(name)) {
      this.loggedFailures.add(name);
      this.log?.warn({ metric: name, err: (err as Error)?.message }, 'a metric update failed and was skipped (logged once per metric)');
    }
  }

  observeRetrieval(timings: Record<string, number>): void {
    for (const [leg, ms] of Object.entries(timings)) if (Number.isFinite(ms)) this.retrievalLeg.observe({ leg }, ms / 1000);
  }
}

import { describe, expect, it } from 'vitest';
import { ServerMetrics } from './metrics.ts';

describe('ServerMetrics', () => {
  it('never throws from a metric update: bad values and labels are skipped, counted and logged once', async () => {
    const warnings: unknown[] = [];
    const m = new ServerMetrics({ defaultMetrics: false });
    m.log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as ServerMetrics['log'];
    // prom-client itself throws on each of these.
    expect(() => m.tokens.inc({ assistant: 'a', type: 'prompt', source: 'upstream' }, 'x' as unknown as number)).not.toThrow();
    expect(() => m.tokens.inc({ assistant: 'a', type: 'prompt', source: 'upstream' }, -5)).not.toThrow();
    expect(() => m.httpRequests.inc({ route: '/x', method: 'GET', status: '200', bogus: 'label' } as never)).not.toThrow();
    expect(() => m.upstreamDuration.observe({ assistant: 'a', outcome: 'ok' }, 'slow' as unknown as number)).not.toThrow();
    // Valid updates still count.
    m.tokens.inc({ assistant: 'a', type: 'prompt', source: 'upstream' }, 7);
    const text = await m.registry.metrics();
    expect(text).toMatch(/kb_llm_tokens_total\{assistant="a",type="prompt",source="upstream"\} 7/);
    expect(text).toMatch(/kb_metrics_recording_errors_total\{metric="kb_llm_tokens_total"\} 2/);
    expect(text).toMatch(/kb_metrics_recording_errors_total\{metric="kb_http_requests_total"\} 1/);
    expect(text).toMatch(/kb_metrics_recording_errors_total\{metric="kb_upstream_duration_seconds"\} 1/);
    expect(warnings).toHaveLength(3); // once per metric
  });
});

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerReplicaMetrics } from './metrics.ts';

describe('replica metrics', () => {
  it('exposes the served snapshot, its age and the swap/failure counters', async () => {
    const status = { snapshot: { id: 's1', created_at: '2026-11-30T00:00:00.000Z' }, swaps: 1, failures: 0, last_fetch: { downloaded_bytes: 10, reused_bytes: 5 } };
    const registry = new Registry();
    registerReplicaMetrics(registry, { status: () => status } as never);
    let text = await registry.metrics();
    expect(text).toContain('kb_snapshot_info{snapshot="s1"} 1');
    expect(text).toMatch(/^kb_snapshot_created_timestamp_seconds 1795996800$/m);
    expect(text).toMatch(/^kb_snapshot_swaps_total 1$/m);
    expect(text).toContain('kb_snapshot_last_fetch_bytes{kind="reused"} 5');
    Object.assign(status, { snapshot: { id: 's2', created_at: '2026-12-01T00:00:00.000Z' }, swaps: 2, failures: 3 });
    text = await registry.metrics();
    expect(text).not.toContain('snapshot="s1"');
    expect(text).toContain('kb_snapshot_info{snapshot="s2"} 1');
    expect(text).toMatch(/^kb_snapshot_swaps_total 2$/m);
    expect(text).toMatch(/^kb_snapshot_update_failures_total 3$/m);
  });
});

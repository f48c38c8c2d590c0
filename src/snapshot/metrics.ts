import { Counter, Gauge, type Registry } from 'prom-client';
import type { Replica } from './replica.ts';

/**
 * Replica metrics on the server's registry (read at scrape time from the replica's status), so
 * an alert can fire on a replica stuck on an old snapshot (`time() - kb_snapshot_created_timestamp_seconds`)
 * or failing to update (`increase(kb_snapshot_update_failures_total[1h]) > 0`).
 */
export function registerReplicaMetrics(registry: Registry, replica: Replica): void {
  new Gauge({
    name: 'kb_snapshot_info',
    help: 'The snapshot this replica serves (value 1; the id is a label)',
    labelNames: ['snapshot'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const id = replica.status().snapshot?.id;
      if (id) this.set({ snapshot: id }, 1);
    },
  });
  new Gauge({
    name: 'kb_snapshot_created_timestamp_seconds',
    help: 'Publication time of the snapshot this replica serves (Unix seconds)',
    registers: [registry],
    collect() {
      const at = replica.status().snapshot?.created_at;
      if (at) this.set(Date.parse(at) / 1000);
    },
  });
  // Counters fed at scrape time with the growth since the previous scrape.
  const counter = (name: string, help: string, read: () => number) => {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  counter('kb_snapshot_swaps_total', 'Snapshots swapped in since the process started', () => replica.status().swaps);
  counter('kb_snapshot_update_failures_total', 'Failed snapshot updates (download, checksum, open) since the process started', () => replica.status().failures);
  new Gauge({
    name: 'kb_snapshot_last_fetch_bytes',
    help: 'Bytes of the last update, fetched from the source or reused from the local copy',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      const f = replica.status().last_fetch;
      this.set({ kind: 'downloaded' }, f?.downloaded_bytes ?? 0);
      this.set({ kind: 'reused' }, f?.reused_bytes ?? 0);
    },
  });
}

import { performance } from 'node:perf_hooks';

/** Accumulates wall time per pipeline stage (stages interleave per record, so time is summed). */
export class StageClock {
  private readonly totals = new Map<string, number>();
  private readonly open = new Map<string, number>();
  private readonly began = performance.now();

  start(stage: string): void {
    this.open.set(stage, performance.now());
  }

  stop(stage: string): void {
    const t = this.open.get(stage);
    if (t === undefined) return;
    this.open.delete(stage);
    this.totals.set(stage, (this.totals.get(stage) ?? 0) + performance.now() - t);
  }

  /** Seconds per stage plus `total` (wall time since construction). */
  seconds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, ms] of this.totals) out[k] = Math.round(ms) / 1000;
    out.total = Math.round(performance.now() - this.began) / 1000;
    return out;
  }
}

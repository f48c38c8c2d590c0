// Progress for long stages: a redrawn bar with rate and ETA on a TTY, plain log lines otherwise
// (so cron logs and CI output stay readable).

export interface StageProgress {
  tick(n?: number): void;
  setTotal(total: number): void;
  done(): void;
}

export interface Progress {
  /** A person is watching (a TTY): worth spending a little work on totals for an ETA. */
  readonly interactive: boolean;
  stage(name: string, total?: number): StageProgress;
}

export const noProgress: Progress = { interactive: false, stage: () => ({ tick() {}, setTotal() {}, done() {} }) };

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, isTTY = Boolean(stream.isTTY)): Progress {
  return {
    interactive: isTTY,
    stage(name, initialTotal) {
      let total = initialTotal ?? 0;
      let count = 0;
      const started = Date.now();
      let lastDraw = 0;
      let lastPct = -1;
      const line = () => {
        const secs = (Date.now() - started) / 1000;
        const rate = secs > 0 ? count / secs : 0;
        if (total > 0) {
          const pct = Math.min(100, (count / total) * 100);
          const width = 24;
          const filled = Math.round((pct / 100) * width);
          const eta = rate > 0 ? (total - count) / rate : Infinity;
          return `${name.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}/${total} ${pct.toFixed(0)}% ${rate.toFixed(0)}/s ETA ${fmtSeconds(eta)}`;
        }
        return `${name.padEnd(8)} ${count} ${rate.toFixed(0)}/s`;
      };
      const draw = (final = false) => {
        const now = Date.now();
        if (isTTY) {
          if (!final && now - lastDraw < 100) return;
          stream.write(`\r\x1b[2K${line()}${final ? '\n' : ''}`);
        } else {
          const pct = total > 0 ? Math.floor((count / total) * 10) : -1;
          if (!final && pct === lastPct && now - lastDraw < 10_000) return;
          lastPct = pct;
          stream.write(`${line()}${final ? ' done' : ''}\n`);
        }
        lastDraw = now;
      };
      return {
        tick(n = 1) {
          count += n;
          draw();
        },
        setTotal(t) {
          total = t;
        },
        done() {
          // An estimated total (the read stage counts records before reading them) is only an
          // estimate: a finished stage has processed everything there was, so it ends at 100%.
          if (total > 0 || count > 0) total = count;
          draw(true);
        },
      };
    },
  };
}

/**
 * Progress of a stage made of phases that each report (done, total) — the HNSW sync's remove,
 * add and write — as one bar per phase, each ending at 100%.
 */
export function phasedStage(progress: Progress, name: string): { update(phase: string, done: number, total: number): void; done(): void } {
  let current: { phase: string; bar: StageProgress; done: number } | null = null;
  return {
    update(phase, done, total) {
      if (current?.phase !== phase) {
        current?.bar.done();
        current = { phase, bar: progress.stage(`${name} ${phase}`, total), done: 0 };
      }
      current.bar.setTotal(total);
      if (done > current.done) current.bar.tick(done - current.done);
      current.done = done;
    },
    done() {
      current?.bar.done();
      current = null;
    },
  };
}

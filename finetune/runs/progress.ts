import type { TrainerEvent } from './protocol.ts';

// Training progress for the terminal: one redrawn line (bar, loss, ETA) on a TTY, plain log
// lines otherwise (CI logs, `nohup`, pipes), so nothing is lost when output is captured.

export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

const num = (v: number | null | undefined, digits = 4) => (v == null ? '-' : v.toFixed(digits));

export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export interface ProgressRenderer {
  onEvent(ev: TrainerEvent): void;
  onText(line: string, stream: 'stdout' | 'stderr'): void;
  /** Ends the redrawn line so later output starts on a fresh line. */
  finish(): void;
}

export function createProgressRenderer(out: ProgressOutput, opts: { verbose?: boolean } = {}): ProgressRenderer {
  const tty = out.isTTY === true;
  let drawn = false;
  let evalLoss: number | null = null;
  const line = (s: string) => {
    if (drawn) out.write('\n');
    drawn = false;
    out.write(`${s}\n`);
  };
  const redraw = (s: string) => {
    const width = out.columns ?? 100;
    out.write(`\r\x1b[2K${s.length > width - 1 ? s.slice(0, width - 1) : s}`);
    drawn = true;
  };
  return {
    onEvent(ev) {
      switch (ev.event) {
        case 'start':
          line(`training: ${ev.total_steps} steps${ev.resumed_from_step ? `, resuming at step ${ev.resumed_from_step}` : ''}` + (ev.train_samples != null ? ` (${ev.train_samples} train / ${ev.val_samples} val samples)` : ''));
          break;
        case 'log': {
          evalLoss = ev.eval_loss ?? evalLoss;
          const pct = ev.total_steps > 0 ? ev.step / ev.total_steps : 0;
          const text = `step ${ev.step}/${ev.total_steps} ${tty ? `${bar(pct, 24)} ` : ''}${Math.floor(pct * 100)}% loss ${num(ev.loss)} eval ${num(evalLoss)} lr ${ev.lr.toExponential(2)}${ev.tokens_per_s != null ? ` ${Math.round(ev.tokens_per_s)} tok/s` : ''} ETA ${formatDuration(ev.eta_s)}`;
          if (tty) redraw(text);
          else line(text);
          break;
        }
        case 'eval':
          evalLoss = ev.eval_loss;
          if (!tty) line(`eval at step ${ev.step}: loss ${num(ev.eval_loss)} (best ${num(ev.best_eval_loss)}${ev.patience_left != null ? `, patience left ${ev.patience_left}` : ''})`);
          break;
        case 'checkpoint':
          if (!tty || opts.verbose) line(`checkpoint at step ${ev.step}: ${ev.path}`);
          break;
        case 'interrupted':
          line(ev.checkpoint ? `interrupted at step ${ev.step}; checkpoint ${ev.checkpoint}` : 'interrupted before the first step; nothing to checkpoint');
          break;
        case 'summary':
          line(`done: ${ev.status}, ${ev.steps} steps, adapter ${ev.adapter_dir}`);
          break;
        case 'error':
          line(`trainer error (${ev.kind}): ${ev.message}`);
          break;
        default:
          break;
      }
    },
    onText(text, stream) {
      // Library chatter is kept in trainer.log; show stderr only when asked, or it would
      // tear the progress line apart (tracebacks reach the user through the run's error_tail).
      if (opts.verbose) line(stream === 'stderr' ? `  ${text}` : text);
    },
    finish() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

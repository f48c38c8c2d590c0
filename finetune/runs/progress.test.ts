import { describe, expect, it } from 'vitest';
import { bar, createProgressRenderer, formatDuration } from './progress.ts';

const log = (step: number) => ({ event: 'log' as const, step, total_steps: 10, epoch: step / 10, loss: 1.23456, eval_loss: null, lr: 2e-4, tokens_per_s: 1234.4, eta_s: 125 });

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { out: { isTTY, columns: 200, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

describe('progress renderer', () => {
  it('formats durations and bars', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3 * 3600 + 60)).toBe('3h01m');
    expect(formatDuration(null)).toBe('?');
    expect(bar(0.5, 10)).toBe('[#####.....]');
  });

  it('redraws one line with bar, loss and ETA on a TTY', () => {
    const s = sink(true);
    const r = createProgressRenderer(s.out);
    r.onEvent(log(5));
    r.onEvent({ event: 'eval', step: 5, eval_loss: 1.5, best_eval_loss: 1.5, patience_left: 3 });
    r.onEvent(log(6));
    r.finish();
    const text = s.text();
    expect(text).toContain('\r\x1b[2Kstep 5/10 [############............] 50% loss 1.2346 eval - lr 2.00e-4 1234 tok/s ETA 2m05s');
    expect(text).toContain('step 6/10 [##############..........] 60% loss 1.2346 eval 1.5000');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('prints plain lines without a TTY', () => {
    const s = sink(false);
    const r = createProgressRenderer(s.out);
    r.onEvent(log(5));
    r.onEvent({ event: 'checkpoint', step: 5, path: '/x' });
    expect(s.text()).toBe('step 5/10 50% loss 1.2346 eval - lr 2.00e-4 1234 tok/s ETA 2m05s\ncheckpoint at step 5: /x\n');
    expect(s.text()).not.toContain('\r');
  });
});

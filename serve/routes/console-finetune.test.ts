import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lossCurve } from './console-finetune.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-loss-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (lines: unknown[]) => fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
const log = (step: number, loss: number, extra: Record<string, unknown> = {}) => ({ event: 'log', step, total_steps: 100, epoch: 0, loss, eval_loss: null, lr: 1e-4, tokens_per_s: null, eta_s: null, ...extra });

describe('lossCurve', () => {
  it('reads train and eval losses; a resumed run repeating steps keeps the latest value; other lines are ignored', () => {
    write([
      { event: 'start', total_steps: 100, resumed_from_step: 0 },
      log(1, 2.0),
      log(2, 1.8),
      'Loading checkpoint shards: 100%',
      '{broken',
      { event: 'eval', step: 2, eval_loss: 1.9, best_eval_loss: null, patience_left: 2 },
      { event: 'start', total_steps: 100, resumed_from_step: 1 },
      log(2, 1.7),
      log(3, 1.5, { eval_loss: 1.6 }),
    ]);
    expect(lossCurve(dir)).toEqual({
      train: [
        { step: 1, loss: 2.0, lr: 1e-4 },
        { step: 2, loss: 1.7, lr: 1e-4 },
        { step: 3, loss: 1.5, lr: 1e-4 },
      ],
      eval: [
        { step: 2, eval_loss: 1.9 },
        { step: 3, eval_loss: 1.6 },
      ],
      total_steps: 100,
    });
  });

  it('thins very long runs evenly, keeping the last point', () => {
    write(Array.from({ length: 5000 }, (_, i) => log(i + 1, 1 / (i + 1))));
    const c = lossCurve(dir);
    expect(c.train.length).toBe(1500);
    expect(c.train[0].step).toBe(1);
    expect(c.train.at(-1)!.step).toBe(5000);
    const gaps = c.train.slice(1).map((p, i) => p.step - c.train[i].step);
    expect(Math.max(...gaps.slice(0, -1)) - Math.min(...gaps.slice(0, -1))).toBeLessThanOrEqual(1);
  });

  it('is empty, not an error, for a run that has not logged yet', () => {
    expect(lossCurve(path.join(dir, 'missing'))).toEqual({ train: [], eval: [], total_steps: null });
  });
});

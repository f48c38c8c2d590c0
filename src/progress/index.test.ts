import { describe, expect, it } from 'vitest';
import { createProgress, phasedStage } from './index.ts';

function sink(isTTY: boolean) {
  const out: string[] = [];
  const stream = { isTTY, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream;
  return { out, progress: createProgress(stream, isTTY) };
}

describe('progress', () => {
  it('ends a finished stage at 100% even when the estimated total was high', () => {
    const { out, progress } = sink(false);
    const bar = progress.stage('read news', 135);
    for (let i = 0; i < 121; i++) bar.tick();
    bar.done();
    expect(out.at(-1)).toMatch(/121\/121 100% .* done\n$/);
  });

  it('ends at 100% when the estimate was low too, and redraws one line on a TTY', () => {
    const { out, progress } = sink(true);
    const bar = progress.stage('embed', 10);
    bar.tick(12);
    bar.done();
    expect(out.at(-1)).toMatch(/^\r\x1b\[2Kembed .*12\/12 100%.*\n$/);
  });

  it('shows one bar per phase, each closed at 100%', () => {
    const { out, progress } = sink(false);
    const stage = phasedStage(progress, 'index');
    stage.update('remove', 5, 10);
    stage.update('remove', 10, 10);
    stage.update('write', 1, 2);
    stage.update('write', 2, 2);
    stage.done();
    const finals = out.filter((l) => l.includes(' done'));
    expect(finals).toHaveLength(2);
    expect(finals[0]).toMatch(/^index remove .*10\/10 100%/);
    expect(finals[1]).toMatch(/^index write .*2\/2 100%/);
  });
});

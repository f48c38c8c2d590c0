import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, resolveLogFormat } from './index.ts';

function capture(isTTY: boolean) {
  const lines: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
    { isTTY },
  );
  return { lines, stream };
}

afterEach(() => vi.unstubAllEnvs());

describe('createLogger', () => {
  it('writes readable lines on a terminal and keeps one-shot commands quiet', () => {
    vi.stubEnv('KB_LOG_LEVEL', '');
    vi.stubEnv('KB_LOG__LEVEL', '');
    vi.stubEnv('KB_LOG_FORMAT', '');
    const { lines, stream } = capture(true);
    const log = createLogger('info', { stream, quietOnTty: true });
    log.info('progress detail nobody asked for');
    log.warn({ source: 'news' }, 'source is slow');
    const text = lines.join('');
    expect(text).not.toContain('progress detail');
    expect(text).toContain('source is slow');
    expect(text).not.toMatch(/^\{/m); // not JSON
  });

  it('keeps the configured level on a terminal for long-running processes and when KB_LOG_LEVEL is set', () => {
    vi.stubEnv('KB_LOG_LEVEL', '');
    vi.stubEnv('KB_LOG__LEVEL', '');
    const a = capture(true);
    createLogger('info', { stream: a.stream }).info('server listening');
    expect(a.lines.join('')).toContain('server listening');
    vi.stubEnv('KB_LOG_LEVEL', 'info');
    const b = capture(true);
    createLogger('info', { stream: b.stream, quietOnTty: true }).info('asked for');
    expect(b.lines.join('')).toContain('asked for');
  });

  it('writes JSON lines when piped, or when asked on a terminal', () => {
    const piped = capture(false);
    createLogger('info', { stream: piped.stream, quietOnTty: true }).info({ run_id: 3 }, 'ingestion finished');
    expect(JSON.parse(piped.lines.join('').trim())).toMatchObject({ msg: 'ingestion finished', run_id: 3, level: 30 });
    const asked = capture(true);
    createLogger('warn', { stream: asked.stream, format: 'json' }).warn('w');
    expect(JSON.parse(asked.lines.join('').trim())).toMatchObject({ msg: 'w' });
  });

  it('resolves the format from the option, then KB_LOG_FORMAT, then the terminal', () => {
    expect(resolveLogFormat('json', true, {})).toBe('json');
    expect(resolveLogFormat(undefined, true, { KB_LOG_FORMAT: 'json' })).toBe('json');
    expect(resolveLogFormat('auto', true, {})).toBe('pretty');
    expect(resolveLogFormat('auto', false, {})).toBe('json');
  });
});

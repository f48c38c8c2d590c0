import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs (pino) on stderr, so stdout stays clean for `--json` command output.
 * KB_LOG_LEVEL / log.level choose the level.
 */
export function createLogger(level: string = process.env.KB_LOG__LEVEL ?? 'info', name = 'kb'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}

/** A logger that discards everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });

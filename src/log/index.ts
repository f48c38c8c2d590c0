import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs (pino) on stderr, so stdout stays clean for `--json` command output.
 * log.level chooses the level (callers pass config.log.level); without a config, KB_LOG__LEVEL or
 * its documented shortcut KB_LOG_LEVEL (the same precedence as the config loader: __ wins).
 */
export function createLogger(level: string = process.env.KB_LOG__LEVEL ?? process.env.KB_LOG_LEVEL ?? 'info', name = 'kb'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}

/** A logger that discards everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });

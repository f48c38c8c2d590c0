import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** json: one JSON object per line (files, collectors, pipes); pretty: coloured lines for a person; auto: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  /** Default: KB_LOG_FORMAT, else 'auto'. */
  format?: LogFormat;
  /**
   * A one-shot command on a terminal (kb ingest, kb search): show warnings and errors only, so
   * its own report is what the person reads. KB_LOG_LEVEL still wins when set. Long-running
   * processes (kb serve, kb scheduler) keep the configured level.
   */
  quietOnTty?: boolean;
  name?: string;
  /** For tests: where lines go and whether it is a terminal. Default: stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; fd?: number };
}

const SEVERITY = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The level set in the environment, if any: KB_LOG__LEVEL or its documented shortcut KB_LOG_LEVEL (the config loader's precedence: __ wins). */
export function envLogLevel(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.KB_LOG__LEVEL || env.KB_LOG_LEVEL || undefined;
}

export function resolveLogFormat(format: LogFormat | undefined, isTTY: boolean, env: NodeJS.ProcessEnv = process.env): 'json' | 'pretty' {
  // An explicit json/pretty wins; "auto" (the config default) still yields to KB_LOG_FORMAT for
  // callers that build a logger without the config.
  const f = format === 'json' || format === 'pretty' ? format : ((env.KB_LOG_FORMAT as LogFormat | undefined) || 'auto');
  if (f === 'json' || f === 'pretty') return f;
  return isTTY ? 'pretty' : 'json';
}

/**
 * Logs on stderr, so stdout stays clean for `--json` command output: structured JSON (pino) when
 * piped or asked, readable lines on a terminal.
 */
export function createLogger(level: string = envLogLevel() ?? 'info', opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const isTTY = Boolean(stream.isTTY);
  const format = resolveLogFormat(opts.format, isTTY);
  let effective = level;
  if (format === 'pretty' && isTTY && opts.quietOnTty && !envLogLevel() && SEVERITY.indexOf(level) < SEVERITY.indexOf('warn')) effective = 'warn';
  const options = { name: opts.name ?? 'kb', level: effective, base: { pid: process.pid } };
  if (format === 'pretty') {
    return pino(options, pretty({ destination: stream, sync: true, colorize: isTTY, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' }));
  }
  return pino(options, opts.stream ? stream : pino.destination(2));
}

/** A logger that discards everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });

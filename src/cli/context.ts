import path from 'node:path';
import { loadConfig, type Config } from '../config/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { openStore, type DB } from '../store/index.ts';

/** What every command needs: validated config, the store, a logger. */
export interface AppContext {
  config: Config;
  db: DB;
  log: Logger;
  close(): void;
}

export function storePath(config: Config): string {
  return path.join(config.data_dir, 'kb.sqlite');
}

/**
 * `check`: run PRAGMA quick_check first unless store.check_on_start is off (long-running and
 * writing commands; see openStore). `daemon`: a long-running command (the scheduler) that logs at
 * the configured level even on a terminal.
 */
export function openContext(config: Config = loadConfig(), opts: { check?: boolean; daemon?: boolean } = {}): AppContext {
  const db = openStore(storePath(config), { check: opts.check && config.store.check_on_start === 'quick' });
  const log = createLogger(config.log.level, { format: config.log.format, quietOnTty: !opts.daemon });
  return { config, db, log, close: () => db.close() };
}

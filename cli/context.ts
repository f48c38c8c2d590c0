import { loadConfig, type Config } from '../src/config/index.ts';
import { createLogger, type Logger } from '../src/log/index.ts';
import { openStore, storePath, type DB } from '../src/store/index.ts';

/** What every command needs: validated config, the store, a logger. */
export interface AppContext {
  config: Config;
  db: DB;
  log: Logger;
  close(): void;
}

export { storePath };

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

import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/index.ts';

/** Whether a process with this pid exists on this host (EPERM: it exists but is someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<name>.tmp-<pid>` files in `dir` whose writer process is gone: what an index writer
 * killed mid-write leaves behind (files are written as temp-with-pid, then renamed into place).
 */
export function removeStaleTempFiles(dir: string, log: Logger, what: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    log.info({ file: name }, `removed a temp ${what} file left by a dead writer`);
  }
}

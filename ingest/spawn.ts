import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../src/config/index.ts';
import { projectRoot } from '../src/config/index.ts';
import type { DB } from '../src/store/index.ts';
import { lockHolder, LockBusyError } from '../src/lock/index.ts';

// The server starts ingestion (admin API, in-process schedule) as a child `kb ingest` process:
// chunking, segmentation and embedding are CPU-bound and synchronous, and in a child they
// neither stall the server's event loop nor take it down if they crash.

export interface SpawnedIngestion {
  run_id: number;
  /** Resolves with the child's exit code when the run ends. */
  done: Promise<number | null>;
}

export function spawnIngestion(config: Config, db: DB, trigger: 'api' | 'scheduler', timeoutMs = 60_000, sources: string[] = []): Promise<SpawnedIngestion> {
  const holder = lockHolder(db, 'ingest');
  if (holder) return Promise.reject(new LockBusyError('ingest', holder));
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'ingest', '--json', '--trigger', trigger, ...sources.flatMap((s) => ['--source', s])], {
    env: { ...process.env, KB_DATA_DIR: config.data_dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let exited = false;
    void done.then(() => (exited = true));
    const started = Date.now();
    const poll = () => {
      const runId = db.prepare('SELECT id FROM ingest_runs WHERE pid = ? ORDER BY id DESC LIMIT 1').pluck().get(child.pid) as number | undefined;
      if (runId !== undefined) return resolve({ run_id: runId, done });
      if (exited) {
        const busy = /holds the "ingest" lock/.test(stderr);
        const err = new Error(busy ? 'An ingestion run is already running.' : `ingestion process exited before starting a run: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
        if (busy) (err as Error & { code: string }).code = 'ingest_running';
        return reject(err);
      }
      if (Date.now() - started > timeoutMs) {
        child.kill('SIGTERM');
        return reject(new Error(`ingestion process did not start a run within ${timeoutMs} ms`));
      }
      setTimeout(poll, 50);
    };
    poll();
  });
}

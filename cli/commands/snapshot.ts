import type { Command } from 'commander';
import { acquireLock } from '../../src/lock/index.ts';
import { openBackend } from '../../src/snapshot/backend.ts';
import { gcSnapshots, publishSnapshot } from '../../src/snapshot/publish.ts';
import { openContext } from '../context.ts';
import { loadConfig } from '../../src/config/index.ts';

// `kb snapshot publish|list|promote|gc`: index snapshots for API replicas (src/snapshot/).

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
};

export function register(program: Command): void {
  const snap = program.command('snapshot').description('publish, list and garbage-collect index snapshots for API replicas');

  snap
    .command('publish')
    .description('publish the store + active index files as a new snapshot (takes the ingestion lock)')
    .option('--to <location>', 'snapshot location (default: snapshot.target)')
    .option('--keep <n>', 'snapshots to keep afterwards (default: snapshot.keep)', positiveInt('--keep'))
    .option('--json', 'print the manifest as JSON')
    .action(async (opts: { to?: string; keep?: number; json?: boolean }) => {
      const ctx = openContext();
      const { config, db, log } = ctx;
      try {
        const backend = openBackend(opts.to ?? requireLocation(config.snapshot.target, 'snapshot.target', '--to'), config.data_dir);
        // The lock keeps an ingestion run from pruning an index file while it is copied.
        const lock = acquireLock(db, 'ingest', { ttlMs: config.ingest.lock_ttl_seconds * 1000 });
        const beat = setInterval(() => lock.heartbeat(), Math.max(1000, (config.ingest.lock_ttl_seconds * 1000) / 3));
        try {
          const res = await publishSnapshot({ db, dataDir: config.data_dir, backend, log, keep: opts.keep ?? config.snapshot.keep, tmpMaxAgeMs: config.snapshot.tmp_max_age_minutes * 60_000 });
          if (opts.json) process.stdout.write(`${JSON.stringify({ ...res.manifest, seconds: res.seconds, removed: res.removed }, null, 2)}\n`);
          else process.stdout.write(`published ${res.manifest.id}: ${res.manifest.files.length} files, ${formatBytes(res.manifest.bytes)} in ${res.seconds.total}s → ${backend.location}${res.removed.length ? `; removed ${res.removed.join(', ')}` : ''}\n`);
        } finally {
          clearInterval(beat);
          lock.release();
        }
      } finally {
        ctx.close();
      }
    });

  snap
    .command('list')
    .description('list the complete snapshots at a location (LATEST marked)')
    .option('--from <location>', 'snapshot location (default: snapshot.target, else snapshot.source)')
    .option('--json', 'JSON output')
    .action(async (opts: { from?: string; json?: boolean }) => {
      const config = loadConfig();
      const backend = openBackend(opts.from ?? requireLocation(config.snapshot.target || config.snapshot.source, 'snapshot.target', '--from'), config.data_dir);
      const all = await backend.list();
      const latest = await backend.latestId();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ location: backend.location, latest, snapshots: all }, null, 2)}\n`);
        return;
      }
      if (!all.length) process.stdout.write(`no snapshots at ${backend.location}\n`);
      for (const m of all) {
        const versions = m.versions.map((v) => `${v.table}#${v.id}`).join(' ') || '(no index versions)';
        process.stdout.write(`${m.id === latest ? '*' : ' '} ${m.id}  ${m.created_at}  ${formatBytes(m.bytes).padStart(9)}  ${versions}\n`);
      }
    });

  snap
    .command('promote')
    .description('point LATEST at an existing snapshot: replicas switch to it on their next poll (rollback)')
    .argument('<id>', 'snapshot id (see `kb snapshot list`)')
    .option('--at <location>', 'snapshot location (default: snapshot.target)')
    .action(async (id: string, opts: { at?: string }) => {
      const config = loadConfig();
      const backend = openBackend(opts.at ?? requireLocation(config.snapshot.target, 'snapshot.target', '--at'), config.data_dir);
      const before = await backend.latestId();
      await backend.setLatest(id);
      process.stdout.write(`LATEST: ${before ?? '(none)'} → ${id}\n`);
    });

  snap
    .command('gc')
    .description('delete old snapshots, keeping the newest N and the one LATEST names')
    .option('--at <location>', 'snapshot location (default: snapshot.target)')
    .option('--keep <n>', 'snapshots to keep (default: snapshot.keep)', positiveInt('--keep'))
    .action(async (opts: { at?: string; keep?: number }) => {
      const config = loadConfig();
      const backend = openBackend(opts.at ?? requireLocation(config.snapshot.target, 'snapshot.target', '--at'), config.data_dir);
      const removed = await gcSnapshots(backend, opts.keep ?? config.snapshot.keep, { tmpMaxAgeMs: config.snapshot.tmp_max_age_minutes * 60_000 });
      process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : 'nothing to remove\n');
    });
}

function requireLocation(value: string, key: string, flag: string): string {
  if (!value) throw new Error(`no snapshot location: set ${key} or pass ${flag}`);
  return value;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

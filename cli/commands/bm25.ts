import type { Command } from 'commander';
import { openContext } from '../context.ts';
import { acquireLock } from '../../src/lock/index.ts';
import { activeBm25Version, bm25Pending, paramsMismatch, syncBm25Index, versionParams } from '../../src/bm25/versions.ts';
import { bm25ParamsOf, describeBm25Params } from '../../src/bm25/scoring.ts';

// `kb bm25 build`: builds the BM25 engine's index version outside the weekly job — after an
// upgrade (stores ingested before the engine existed are served from FTS5 until a version is
// built), to replace a file reported corrupt, or after changing `retrieval.bm25.k1` / `.b`. Holds
// the ingestion lock: builds never race a run.

export function register(program: Command): void {
  const bm25 = program.command('bm25').description('the BM25 engine index (versions under data_dir/bm25)');
  bm25
    .command('build')
    .description('build and activate a new BM25 index version when chunks or k1/b changed since the active one (or none exists)')
    .option('--force', 'build even when the active version is up to date')
    .option('--json', 'print the build report as one JSON object')
    .action((opts: { force?: boolean; json?: boolean }) => {
      const ctx = openContext();
      const lock = acquireLock(ctx.db, 'ingest', { ttlMs: ctx.config.ingest.lock_ttl_seconds * 1000 });
      try {
        const r = syncBm25Index(ctx.db, ctx.config.data_dir, { force: opts.force, keep: ctx.config.index.keep_versions, log: ctx.log, params: bm25ParamsOf(ctx.config.retrieval.bm25) });
        if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else {
          process.stdout.write(
            r.built
              ? `BM25 version v${r.version_id}: ${r.docs} chunks, ${r.terms} terms, ${(r.bytes / 2 ** 20).toFixed(1)} MiB, built in ${r.seconds.toFixed(1)} s (${r.reason})\n`
              : `BM25 version v${r.version_id} is up to date (${r.docs} chunks)\n`,
          );
        }
      } finally {
        lock.release();
        ctx.close();
      }
    });
  bm25
    .command('status')
    .description('the active BM25 version and what it lacks')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const ctx = openContext();
      try {
        const v = activeBm25Version(ctx.db);
        const pending = bm25Pending(ctx.db);
        const configured = bm25ParamsOf(ctx.config.retrieval.bm25);
        const stale = v ? paramsMismatch(v, configured) : null;
        if (opts.json) process.stdout.write(`${JSON.stringify({ version: v, pending, params: v ? versionParams(v) : null, configured_params: configured, params_stale: stale })}\n`);
        else
          process.stdout.write(
            (v
              ? `v${v.id} · ${v.docs} chunks · ${v.terms} terms · ${(v.bytes / 2 ** 20).toFixed(1)} MiB · ${describeBm25Params(versionParams(v))} · built ${v.created_at}; since then +${pending.added} chunks, −${pending.removed}\n`
              : 'no BM25 version yet: searches use FTS5 (run `kb bm25 build` or the ingestion job)\n') +
              (stale ? `params differ: ${stale} — searches use this version and say "degraded" until \`kb bm25 build\` (or the next ingestion run) rebuilds it\n` : ''),
          );
      } finally {
        ctx.close();
      }
    });
}

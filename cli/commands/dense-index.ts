import type { Command } from 'commander';
import { openContext } from '../context.ts';
import { createEmbedder } from '../../src/embeddings/factory.ts';
import { EmbeddingCache, embedWithCache } from '../../src/embeddings/cache.ts';
import { withLock } from '../../src/lock/index.ts';
import { discardUnusableVersions, indexHealth } from '../../src/vector/health.ts';
import { backfillChecksum, loadVersion } from '../../src/vector/verify.ts';
import { activeVersion, syncDenseIndex } from '../../src/vector/versions.ts';

// `kb index verify` and `kb index rebuild`: the operator's tools for a damaged dense index.

interface LabelCheck {
  ok: boolean;
  missing: number;
  unexpected: number;
}

/** The label invariant of the active version: its live labels are exactly the labelled chunks. */
function checkLabels(ctx: ReturnType<typeof openContext>): LabelCheck | null {
  const v = activeVersion(ctx.db);
  if (!v) return null;
  const index = loadVersion(ctx.config.data_dir, v, ctx.config.index.ef_search); // verified again before hnswlib reads it
  const inFile = new Set(index.liveLabels());
  const labelled = ctx.db.prepare('SELECT id FROM chunks WHERE vector_label IS NOT NULL').pluck().all() as number[];
  let missing = 0;
  for (const id of labelled) if (!inFile.delete(id)) missing++;
  return { ok: missing === 0 && inFile.size === 0, missing, unexpected: inFile.size };
}

export function register(program: Command): void {
  const ix = program.command('index').description('check and repair the dense (HNSW) index files');

  ix.command('verify')
    .description('verify every index version\'s file (SHA-256, structure, header against its record) and the active version\'s labels; exits 1 if anything is bad')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const ctx = openContext(undefined, { check: true });
      try {
        const health = indexHealth(ctx.db, ctx.config.data_dir, { all: true });
        const versions = health.versions ?? [];
        // A sound file written before checksums existed gets its digest recorded now.
        const recorded = versions.filter((c) => c.ok && c.checksum === 'structure_only' && backfillChecksum(ctx.db, c.version, c)).map((c) => c.version.id);
        const labels = health.active?.ok ? checkLabels(ctx) : null;
        const bad = versions.filter((c) => !c.ok);
        const ok = bad.length === 0 && (labels?.ok ?? true);
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({
              ok,
              state: health.state,
              serving: health.serving,
              detail: health.detail,
              labels,
              checksums_recorded: recorded,
              versions: versions.map((c) => ({ version: c.version.id, file: c.version.file, active: c.version.active, ok: c.ok, problem: c.problem, checksum: c.checksum })),
            })}\n`,
          );
        } else {
          if (versions.length === 0) process.stdout.write('no index versions yet (the dense leg starts once `kb ingest` runs with an embedding model)\n');
          for (const c of versions) {
            const tag = c.version.active ? ' (active)' : '';
            const how = c.checksum === 'verified' ? 'checksum + structure OK' : recorded.includes(c.version.id) ? 'structure OK (written before checksums; checksum now recorded)' : 'structure OK';
            process.stdout.write(`v${c.version.id}${tag}  ${c.version.file}  ${c.ok ? how : `BAD: ${c.problem}`}\n`);
          }
          if (labels) {
            process.stdout.write(
              labels.ok
                ? 'labels    the active file holds exactly the labelled chunks\n'
                : `labels    MISMATCH: ${labels.missing} labelled chunks missing from the file, ${labels.unexpected} labels not labelled in the store — run \`kb index rebuild\`\n`,
            );
          }
          if (health.detail) process.stdout.write(`${health.detail}\n`);
          else if (bad.length) process.stdout.write(`older versions that fail are never served; the next ingest runs prune them (keep_versions)\n`);
        }
        if (!ok) process.exitCode = 1;
      } finally {
        ctx.close();
      }
    });

  ix.command('rebuild')
    .description('build a new dense index version from all live chunks (vectors from the embedding cache; missing ones are embedded) and activate it')
    .option('--json', 'print the sync report as one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const ctx = openContext(undefined, { check: true });
      const embedder = createEmbedder(ctx.config);
      try {
        // The ingestion lock: a rebuild and an ingestion run must not build versions at once.
        const { report, discarded } = await withLock(ctx.db, 'ingest', { ttlMs: ctx.config.ingest.lock_ttl_seconds * 1000 }, async () => {
          try {
            await embedder.load();
          } catch (err) {
            throw new Error(`cannot rebuild the dense index: the embedding model is unavailable (${(err as Error).message}); BM25 keeps serving meanwhile`);
          }
          const cache = new EmbeddingCache(ctx.db);
          const sync = await syncDenseIndex({
            db: ctx.db,
            dataDir: ctx.config.data_dir,
            modelId: embedder.id,
            dim: embedder.dimension,
            params: ctx.config.index,
            rebuild: true,
            log: ctx.log,
            getVectors: async (chunks) =>
              (await embedWithCache(embedder, cache, chunks.map((c) => ({ hash: c.embed_hash, text: c.embed_text })), { batchSize: ctx.config.embedding.batch_size })).vectors,
          });
          // Old versions whose files fail verification can never serve: drop them (file kept as .corrupt).
          return { report: sync, discarded: discardUnusableVersions(ctx.db, ctx.config.data_dir) };
        });
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, discarded })}\n`);
        else {
          for (const d of discarded) process.stdout.write(`dropped unusable old version v${d.version} (${d.problem}); its file is kept as ${d.file}.corrupt\n`);
          process.stdout.write(
            report.version_id === null
              ? 'nothing to index: no live chunks\n'
              : `index v${report.version_id} built and activated: ${report.vectors} vectors in ${report.seconds.toFixed(1)}s (${report.file}); running servers pick it up within index.reload_interval_ms\n`,
          );
        }
      } finally {
        await embedder.dispose?.().catch(() => {});
        ctx.close();
      }
    });
}

import type { Command } from 'commander';
import type { DB } from '../../src/store/index.ts';
import { openContext } from '../context.ts';
import { lastRun } from '../../ingest/runs.ts';
import { indexHealth, type IndexHealth } from '../../src/vector/health.ts';

export interface StoreStatus {
  documents: number;
  chunks: number;
  pending_embeddings: number;
  index: { version: number; model: string; dim: number; vectors: number; file: string; created_at: string } | null;
  /** The active index file verified as the server verifies it, and what a server would serve (absent when not checked). */
  index_health?: Omit<IndexHealth, 'versions'>;
  last_run: { id: number; status: string; started_at: string; finished_at: string | null; trigger: string; report: unknown; error: string | null } | null;
}

export function storeStatus(db: DB): StoreStatus {
  const one = (sql: string) => db.prepare(sql).pluck().get() as number;
  const idx = db.prepare('SELECT id, model_id, dim, vectors, file, created_at FROM index_versions WHERE active = 1').get() as
    | { id: number; model_id: string; dim: number; vectors: number; file: string; created_at: string }
    | undefined;
  const run = lastRun(db);
  return {
    documents: one('SELECT count(*) FROM documents WHERE deleted_at IS NULL'),
    chunks: one('SELECT count(*) FROM chunks WHERE retired_at IS NULL'),
    pending_embeddings: one('SELECT count(*) FROM chunks WHERE vector_label IS NULL AND retired_at IS NULL'),
    index: idx ? { version: idx.id, model: idx.model_id, dim: idx.dim, vectors: idx.vectors, file: idx.file, created_at: idx.created_at } : null,
    last_run: run
      ? {
          id: run.id,
          status: run.status,
          started_at: run.started_at,
          finished_at: run.finished_at,
          trigger: run.trigger,
          report: run.report ? JSON.parse(run.report) : null,
          error: run.error,
        }
      : null,
  };
}

export function register(program: Command): void {
  program
    .command('status')
    .description('documents, chunks, pending embeddings, the active index version and the last run')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const ctx = openContext();
      try {
        // Reads the active index file once (checksum + structure), so "healthy" means it.
        const s: StoreStatus = { ...storeStatus(ctx.db), index_health: indexHealth(ctx.db, ctx.config.data_dir) };
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(s)}\n`);
          return;
        }
        const lines = [
          `documents           ${s.documents}`,
          `chunks              ${s.chunks}`,
          `pending embeddings  ${s.pending_embeddings}${s.pending_embeddings ? '  (embedded by the next run with a model)' : ''}`,
          `index               ${s.index ? `v${s.index.version} · ${s.index.model} · dim ${s.index.dim} · ${s.index.vectors} vectors` : 'none yet (dense leg unavailable)'}`,
          ...(s.index_health?.active
            ? [
                `index file          ${s.index_health.active.ok ? `OK (${s.index_health.active.checksum === 'verified' ? 'checksum and structure verified' : 'structure verified; written before checksums'})` : `BAD — ${s.index_health.detail}`}`,
              ]
            : []),
          `last run            ${s.last_run ? `#${s.last_run.id} ${s.last_run.status} (${s.last_run.trigger}) started ${s.last_run.started_at}${s.last_run.error ? ` — ${s.last_run.error}` : ''}` : 'never'}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        ctx.close();
      }
    });
}

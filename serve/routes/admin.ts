import { Router, type RequestHandler } from 'express';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { routeLabel, state } from '../state.ts';
import { lockHolder } from '../../src/lock/index.ts';
import { listVersions } from '../../src/vector/versions.ts';
import { runJson, type RunRow } from '../../ingest/runs.ts';


/** The run in progress: only while a live process holds the ingest lock (a crashed run's row may still say 'running'). */
function runningRun(deps: AppDeps): number | null {
  if (!lockHolder(deps.db, 'ingest')) return null;
  return (deps.db.prepare("SELECT id FROM ingest_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1").pluck().get() as number | undefined) ?? 0;
}

/** /v1/admin: start an ingestion run, list runs, index status (admin scope). */
export function adminRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();

  r.post('/admin/ingest', routeLabel('/v1/admin/ingest'), ...guard, async (_req, res) => {
    if (!deps.startIngestion) {
      throw new HttpError(501, 'Starting ingestion is not available in this server process (no ingestion runner); run `kb ingest`.', 'server_error', 'ingest_unavailable');
    }
    const running = runningRun(deps);
    if (running !== null) throw new HttpError(409, `Ingestion run ${running} is already running.`, 'conflict_error', 'ingest_running');
    try {
      const { run_id } = await deps.startIngestion();
      state(res).log.info({ run_id }, 'ingestion run started through the admin API');
      res.status(202).json({ run_id, status: 'running' });
    } catch (err) {
      if ((err as { code?: string }).code === 'ingest_running') {
        throw new HttpError(409, (err as Error).message || 'An ingestion run is already running.', 'conflict_error', 'ingest_running');
      }
      throw err;
    }
  });

  r.get('/admin/runs', routeLabel('/v1/admin/runs'), ...guard, (req, res) => {
    const raw = req.query.limit === undefined ? 20 : Number(req.query.limit);
    if (!Number.isInteger(raw) || raw < 1 || raw > 200) throw new HttpError(400, 'limit: must be an integer from 1 to 200', 'invalid_request_error', 'invalid_request', 'limit');
    const rows = deps.db.prepare('SELECT id, started_at, finished_at, status, trigger, sources, report, error FROM ingest_runs ORDER BY id DESC LIMIT ?').all(raw) as RunRow[];
    res.json({
      object: 'list',
      data: rows.map((r) => runJson(r)),
    });
  });

  r.get('/admin/index', routeLabel('/v1/admin/index'), ...guard, async (_req, res) => {
    const versions = listVersions(deps.db).reverse();
    const reader = deps.indexStatus ? await deps.indexStatus() : null;
    const counts = deps.db
      .prepare(
        `SELECT (SELECT COUNT(*) FROM documents WHERE deleted_at IS NULL) AS documents,
                (SELECT COUNT(*) FROM chunks WHERE retired_at IS NULL) AS chunks,
                (SELECT COUNT(*) FROM chunks WHERE retired_at IS NULL AND vector_label IS NULL) AS pending_vectors`,
      )
      .get() as { documents: number; chunks: number; pending_vectors: number };
    res.json({
      versions,
      reader,
      store: counts,
    });
  });

  return r;
}

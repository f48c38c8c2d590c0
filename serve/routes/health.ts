import { Router, type Request, type RequestHandler, type Response } from 'express';
import { hasScope, verifyKey } from '../../src/auth/keys.ts';
import type { AppDeps, IndexStatusReport } from '../deps.ts';
import { authenticate, requireScope } from '../middleware/auth.ts';
import { routeLabel } from '../state.ts';
import { guardSidecars } from '../../src/store/wal-guard.ts';
import { bm25ParamsOf } from '../../src/bm25/scoring.ts';
import { activeParamsIssue } from '../../src/bm25/versions.ts';

interface Check {
  ok: boolean;
  detail?: string;
  [key: string]: unknown;
}

/** How the dense leg is doing, for /readyz (it never decides readiness: BM25 answers without it). */
export type DenseState = 'ok' | 'loading' | 'no_index' | 'fallback' | 'bm25_only';

export function denseState(st: IndexStatusReport): { state: DenseState; degraded: boolean; detail?: string } {
  const active = (st.activeVersion as number | null | undefined) ?? null;
  const version = (st.version as number | null | undefined) ?? null;
  const fallback = st.fallback as { activeVersion: number; servingVersion: number | null; reason: string } | null | undefined;
  const error = st.error as { version: number; message: string } | null | undefined;
  const hint = 'run `kb index rebuild` (or restore the file from a backup)';
  if (fallback && st.loaded) {
    return {
      state: 'fallback',
      degraded: true,
      detail: `active dense index version ${fallback.activeVersion} failed verification (${fallback.reason}); serving version ${fallback.servingVersion}: chunks indexed since are found by BM25 only; ${hint}`,
    };
  }
  if (st.loaded) return { state: 'ok', degraded: false };
  if (active === null) {
    return { state: 'no_index', degraded: true, detail: 'no dense index version exists yet: serving BM25 only (the dense leg starts once an embedding model is available and `kb ingest` runs)' };
  }
  if (error || fallback) {
    return { state: 'bm25_only', degraded: true, detail: `dense index version ${active} cannot be used (${fallback?.reason ?? error?.message}) and no older version verifies: serving BM25 only; ${hint}` };
  }
  return { state: 'loading', degraded: true, detail: `dense index version ${version ?? active} is loading: serving BM25 only meanwhile` };
}

/**
 * /healthz (process is up), /readyz (can answer: store open, BM25 serving, not shutting down —
 * a degraded dense leg is reported, never a 503), /metrics. While auth is on, /metrics needs a
 * key with the `metrics` or `admin` scope and /readyz shows details (paths, versions, errors)
 * only to such a key: an unauthenticated caller gets the status and the per-check booleans.
 */
export function healthRoutes(deps: AppDeps): Router {
  const r = Router();
  const opsScopes = ['metrics', 'admin'] as const;
  const sidecars = guardSidecars(deps.db);
  let sidecarsReported = false;

  r.get('/healthz', routeLabel('/healthz'), (_req, res) => {
    res.json({ status: 'ok' });
  });

  const maySee = (req: Request): boolean => {
    if (!deps.authRequired()) return true;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const key = m ? verifyKey(deps.db, m[1]) : null;
    return !!key && opsScopes.some((s) => hasScope(key, s));
  };

  r.get('/readyz', routeLabel('/readyz'), async (req: Request, res: Response) => {
    const checks: Record<string, Check> = {};
    try {
      deps.db.prepare('SELECT 1').get();
      const moved = sidecars.check();
      checks.store = moved ? { ok: false, detail: moved } : { ok: deps.db.open };
      if (moved && !sidecarsReported) deps.log.error({ detail: moved }, 'store files changed under the running server: not ready');
      sidecarsReported ||= !!moved;
    } catch (err) {
      checks.store = { ok: false, detail: (err as Error).message };
    }
    try {
      // The leg that must work for the server to answer at all.
      deps.db.prepare('SELECT rowid FROM chunks_fts LIMIT 1').get();
      // Scores from other k1/b than configured still answer: degraded, not unready.
      const issue = activeParamsIssue(deps.db, bm25ParamsOf(deps.config.retrieval.bm25));
      checks.bm25 = issue ? { ok: true, degraded: true, detail: issue } : { ok: true };
    } catch (err) {
      checks.bm25 = { ok: false, detail: (err as Error).message };
    }
    if (deps.indexStatus) {
      try {
        const st = await deps.indexStatus();
        const d = denseState(st);
        // A worker pool with no live worker (all restarting) cannot answer, whatever the index.
        const noWorker = (st as { available?: unknown }).available === false;
        checks.index = noWorker ? { ...st, ok: false, ...d, detail: 'no retrieval worker is running (restarting)' } : { ...st, ok: true, ...d };
      } catch (err) {
        checks.index = { ok: true, degraded: true, state: 'bm25_only', detail: `dense index status unavailable: ${(err as Error).message}` };
      }
    }
    if (deps.lifecycle.closing) checks.shutdown = { ok: false, detail: 'the server is shutting down' };
    const ready = Object.values(checks).every((c) => c.ok);
    const degraded = Object.values(checks).some((c) => c.degraded === true);
    const status = ready ? 'ready' : 'not_ready';
    if (maySee(req)) {
      res.status(ready ? 200 : 503).json({ status, degraded, checks });
    } else {
      // No paths, versions, models or messages for an anonymous caller.
      const minimal = Object.fromEntries(Object.entries(checks).map(([k, c]) => [k, c.degraded === undefined ? { ok: c.ok } : { ok: c.ok, degraded: c.degraded }]));
      res.status(ready ? 200 : 503).json({ status, degraded, checks: minimal });
    }
  });

  const auth: RequestHandler = authenticate(deps.db, deps.authRequired);
  r.get('/metrics', routeLabel('/metrics'), auth, requireScope(...opsScopes), async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  return r;
}

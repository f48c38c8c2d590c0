import { Router } from 'express';
import type { AppDeps } from '../deps.ts';
import { routeLabel } from '../state.ts';

interface Check {
  ok: boolean;
  detail?: string;
  [key: string]: unknown;
}

/** /healthz (process is up), /readyz (store open, index loaded, not shutting down), /metrics. */
export function healthRoutes(deps: AppDeps): Router {
  const r = Router();

  r.get('/healthz', routeLabel('/healthz'), (_req, res) => {
    res.json({ status: 'ok' });
  });

  r.get('/readyz', routeLabel('/readyz'), async (_req, res) => {
    const checks: Record<string, Check> = {};
    try {
      deps.db.prepare('SELECT 1').get();
      checks.store = { ok: deps.db.open };
    } catch (err) {
      checks.store = { ok: false, detail: (err as Error).message };
    }
    if (deps.indexStatus) {
      try {
        const st = await deps.indexStatus();
        // No index version at all (no embedding model yet) is a degraded but serving state: BM25
        // answers. An existing version that is not loaded yet (startup, reload) is not ready.
        const active = (st as { activeVersion?: unknown }).activeVersion ?? null;
        // A worker pool with no live worker (all restarting) cannot answer, whatever the index.
        const noWorker = (st as { available?: unknown }).available === false;
        const ok = !noWorker && (st.loaded || active === null);
        const detail = noWorker
          ? 'no retrieval worker is running (restarting)'
          : st.loaded
          ? undefined
          : active === null
            ? 'no dense index version exists yet: serving BM25 only (the dense leg starts once an embedding model is available and `kb ingest` runs)'
            : 'the active dense index version is still loading';
        checks.index = { ...st, ok, degraded: !st.loaded, ...(detail ? { detail } : {}) };
      } catch (err) {
        checks.index = { ok: false, detail: (err as Error).message };
      }
    }
    if (deps.lifecycle.closing) checks.shutdown = { ok: false, detail: 'the server is shutting down' };
    const ready = Object.values(checks).every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  r.get('/metrics', routeLabel('/metrics'), async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  return r;
}

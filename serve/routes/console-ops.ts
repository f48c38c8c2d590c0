import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { createKey, getKey, KeyInputError, keyJson, keyScopes, listKeys, revokeKey } from '../../src/auth/keys.ts';
import { lockHolder } from '../../src/lock/index.ts';
import { quarantineCounts } from '../../ingest/quarantine.ts';
import { pendingCount } from '../../src/vector/versions.ts';
import { enforceAcl } from '../acl-guard.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { sameSiteOnly } from './same-origin.ts';
import { routeLabel, state } from '../state.ts';
import { filtersSchema, modeSchema, parseBody, toFilters } from '../validation.ts';
import { intParam, optIntParam, strParam } from './query-params.ts';
import { hitJson, resultMetaJson } from '../../src/retrieval/json.ts';
import { describeReason } from './quarantine-reasons.ts';
import { runJson, type RunRow } from '../../ingest/runs.ts';

// Admin console operations: quarantine, API keys, one ingestion run (and its live progress as
// server-sent events), and retrieval testing "as key X".



const keyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(keyScopes)).min(1),
    groups: z.array(z.string()).max(100).default([]),
  })
  .strict();

const retrieveTestBody = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(4000),
    top_k: z.number().int().min(1).max(100).optional(),
    filters: filtersSchema.optional(),
    mode: modeSchema.optional(),
    /** Search with this key's ACL groups (what that key's users would get). */
    as_key: z.number().int().positive().optional(),
  })
  .strict();

/** How often the progress stream samples the store while a run is going. */
// (Each sample counts the run's documents: a scan of the documents table, so not more often.)
const PROGRESS_INTERVAL_MS = 1000;

export function consoleOpsRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  const { db } = deps;

  r.get('/admin/quarantine', routeLabel('/v1/admin/quarantine'), ...guard, (req, res) => {
    const runId = optIntParam(req.query.run, 'run');
    const source = strParam(req.query.source, 'source');
    const reason = strParam(req.query.reason, 'reason');
    const limit = intParam(req.query.limit, 'limit', 50, 1, 500);
    const offset = intParam(req.query.offset, 'offset', 0, 0, 10_000_000);
    const where: string[] = [];
    const params: unknown[] = [];
    if (runId !== undefined) (where.push('run_id = ?'), params.push(runId));
    if (source) (where.push('source = ?'), params.push(source));
    if (reason) (where.push('reason = ?'), params.push(reason));
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = db.prepare(`SELECT count(*) FROM quarantine ${w}`).pluck().get(...params) as number;
    const rows = db.prepare(`SELECT * FROM quarantine ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...params, limit, offset) as Array<{ reason: string }>;
    res.json({
      object: 'list',
      total,
      data: rows.map((q) => ({ ...q, explanation: describeReason(q.reason) })),
      facets: {
        reasons: quarantineCounts(db, { runId }),
        sources: db.prepare('SELECT source AS value, count(*) AS n FROM quarantine GROUP BY source ORDER BY source').all(),
      },
    });
  });

  r.get('/admin/keys', routeLabel('/v1/admin/keys'), ...guard, (_req, res) => {
    res.json({ object: 'list', data: listKeys(db, { includeRevoked: true }).reverse().map(keyJson) });
  });

  r.post('/admin/keys', routeLabel('/v1/admin/keys'), sameSiteOnly, ...guard, (req, res) => {
    const body = parseBody(keyBody, req.body);
    try {
      const { key, secret } = createKey(db, body);
      state(res).log.info({ created_key: key.id, scopes: key.scopes }, 'API key created through the admin API');
      // The secret exists only in this response: it is stored hashed.
      res.status(201).json({ ...keyJson(key), secret });
    } catch (err) {
      if (err instanceof KeyInputError) throw new HttpError(400, err.message, 'invalid_request_error', 'invalid_request');
      throw err;
    }
  });

  r.delete('/admin/keys/:id', routeLabel('/v1/admin/keys/:id'), sameSiteOnly, ...guard, (req, res) => {
    const id = intParam(String(req.params.id), 'id', 0, 1, Number.MAX_SAFE_INTEGER);
    const existing = getKey(db, id);
    if (!existing) throw new HttpError(404, `No API key ${id}.`, 'not_found_error', 'key_not_found', 'id');
    if (existing.revokedAt) throw new HttpError(409, `API key ${id} is already revoked.`, 'conflict_error', 'key_revoked', 'id');
    const self = state(res).key;
    if (self && self.id === id) throw new HttpError(409, 'A key cannot revoke itself here (you would lock yourself out); use another admin key or `kb keys revoke`.', 'conflict_error', 'revoke_self', 'id');
    const k = revokeKey(db, id)!;
    state(res).log.info({ revoked_key: id }, 'API key revoked through the admin API');
    res.json(keyJson(k));
  });

  const getRun = db.prepare('SELECT * FROM ingest_runs WHERE id = ?');
  const runOr404 = (raw: string): RunRow => {
    const id = intParam(raw, 'id', 0, 1, Number.MAX_SAFE_INTEGER);
    const row = getRun.get(id) as RunRow | undefined;
    if (!row) throw new HttpError(404, `No ingestion run ${id}.`, 'not_found_error', 'run_not_found', 'id');
    return row;
  };

  /** Live figures of a run in progress, read from the store (works for runs of any process). */
  const liveProgress = (row: RunRow) => ({
    run_id: row.id,
    status: row.status,
    alive: row.status === 'running' && lockHolder(db, 'ingest') !== null,
    elapsed_s: Math.max(0, (Date.now() - Date.parse(row.started_at)) / 1000),
    documents_written: db.prepare('SELECT count(*) FROM documents WHERE last_run_id = ?').pluck().get(row.id) as number,
    quarantined: db.prepare('SELECT count(*) FROM quarantine WHERE run_id = ?').pluck().get(row.id) as number,
    pending_vectors: pendingCount(db),
  });

  r.get('/admin/runs/:id', routeLabel('/v1/admin/runs/:id'), ...guard, (req, res) => {
    const row = runOr404(String(req.params.id));
    res.json({ ...runJson(row), quarantine: quarantineCounts(db, { runId: row.id }), progress: row.status === 'running' ? liveProgress(row) : null });
  });

  // Server-sent events: `progress` every PROGRESS_INTERVAL_MS while the run goes, then one
  // `report` (the finished run) and the stream ends. Browsers read it with fetch (the key travels
  // in the Authorization header, never in a URL).
  r.get('/admin/runs/:id/events', routeLabel('/v1/admin/runs/:id/events'), ...guard, (req, res) => {
    const first = runOr404(String(req.params.id));
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let timer: NodeJS.Timeout | null = null;
    const stop = () => {
      if (timer) clearInterval(timer);
      timer = null;
    };
    const tick = () => {
      if (deps.lifecycle.closing || res.destroyed) {
        stop();
        res.end();
        return;
      }
      const row = getRun.get(first.id) as RunRow;
      const p = liveProgress(row);
      if (row.status === 'running' && p.alive) {
        send('progress', p);
        return;
      }
      stop();
      // A 'running' row with no live lock holder is a run whose process died: say so.
      send('report', { ...runJson(row), ...(row.status === 'running' ? { status: 'aborted', error: 'the ingestion process is gone (crashed or killed); the next run completes its work' } : {}), quarantine: quarantineCounts(db, { runId: row.id }) });
      res.end();
    };
    res.on('close', stop);
    tick();
    if (!res.writableEnded) timer = setInterval(tick, PROGRESS_INTERVAL_MS);
  });

  r.post('/admin/retrieve', routeLabel('/v1/admin/retrieve'), ...guard, async (req, res) => {
    const body = parseBody(retrieveTestBody, req.body);
    let groups: string[] | null = null;
    let asKey: ReturnType<typeof keyJson> | null = null;
    if (body.as_key !== undefined) {
      const k = getKey(db, body.as_key);
      if (!k) throw new HttpError(404, `No API key ${body.as_key}.`, 'not_found_error', 'key_not_found', 'as_key');
      groups = k.groups;
      asKey = keyJson(k);
    }
    const result = await deps.retriever.retrieve({ query: body.query, topK: body.top_k ?? deps.config.retrieval.top_k, filters: toFilters(body.filters), groups, mode: body.mode });
    const hits = enforceAcl(db, result.hits, groups, state(res).log);
    const { timings, degraded, ranking } = resultMetaJson(result);
    res.json({ object: 'list', query: body.query, as_key: asKey, data: hits.map(hitJson), timings, degraded, ranking });
  });

  return r;
}

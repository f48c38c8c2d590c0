import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { hitJson, resultMetaJson } from '../../src/retrieval/json.ts';
import { enforceAcl } from '../acl-guard.ts';
import type { AppDeps } from '../deps.ts';
import { checkQueryChars } from '../limits.ts';
import { routeLabel, state } from '../state.ts';
import { filtersSchema, modeSchema, parseBody, toFilters } from '../validation.ts';

const retrieveBody = z
  .object({
    // Length is bounded by limits.max_query_chars, checked before this schema runs.
    query: z.string().trim().min(1, 'must not be empty'),
    top_k: z.number().int().min(1).max(100).optional(),
    filters: filtersSchema.optional(),
    mode: modeSchema.optional(),
  })
  .strict();

/** POST /v1/retrieve: ranked hits with the score breakdown, for apps that generate themselves. */
export function retrieveRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  r.post('/retrieve', routeLabel('/v1/retrieve'), ...guard, async (req, res) => {
    checkQueryChars((req.body as { query?: unknown } | undefined)?.query, deps.config.limits);
    const body = parseBody(retrieveBody, req.body);
    const s = state(res);
    const result = await deps.retriever.retrieve({
      query: body.query,
      topK: body.top_k ?? deps.config.retrieval.top_k,
      filters: toFilters(body.filters),
      groups: s.groups,
      mode: body.mode,
    });
    deps.metrics.observeRetrieval(result.timings);
    const hits = enforceAcl(deps.db, result.hits, s.groups, s.log);
    if (result.degraded.length) res.setHeader('X-KB-Degraded', result.degraded.map((d) => d.split(':')[0]).join(','));
    const { timings, degraded, ranking } = resultMetaJson(result);
    res.json({ object: 'list', query: body.query, data: hits.map(hitJson), timings, degraded, ranking });
  });
  return r;
}

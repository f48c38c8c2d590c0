import { Router, type RequestHandler } from 'express';
import type { Assistant } from '../../src/llm/assistants.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { routeLabel } from '../state.ts';
import { activeAdapter } from '../../finetune/registry/index.ts';

// Model objects carry the assistant's mode so clients can tell a generator from extractive mode.
const created = Math.floor(Date.now() / 1000);

function modelObject(a: Assistant, deps: AppDeps) {
  return {
    id: a.id,
    object: 'model' as const,
    created,
    owned_by: 'kb-assistant',
    description: a.settings.description,
    kb: {
      mode: a.model ? 'generated' : 'extractive',
      upstream: a.settings.upstream || null,
      base_model: a.settings.model || null,
      // The registry's deployed adapter wins over the configured one (see `kb finetune deploy`).
      adapter: (a.model ? activeAdapter(deps.db, a.id)?.version : null) || a.settings.adapter || null,
      context_tokens: a.settings.context_tokens,
    },
  };
}

export function modelRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  r.get('/models', routeLabel('/v1/models'), ...guard, (_req, res) => {
    res.json({ object: 'list', data: [...deps.assistants.values()].map((a) => modelObject(a, deps)) });
  });
  r.get('/models/:id', routeLabel('/v1/models/:id'), ...guard, (req, res) => {
    const a = deps.assistants.get(String(req.params.id));
    if (!a) throw new HttpError(404, `The model '${req.params.id}' does not exist.`, 'not_found_error', 'model_not_found', 'model');
    res.json(modelObject(a, deps));
  });
  return r;
}

import fs from 'node:fs';
import path from 'node:path';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { parseTrainerLine } from '../../finetune/runs/protocol.ts';
import { getRun, listRuns, type RunRecord } from '../../finetune/runs/store.ts';
import { deployAdapter, rollbackDeployment, type UpstreamTarget } from '../../finetune/registry/deploy.ts';
import { promotionGate } from '../../finetune/registry/gate.ts';
import { activeAdapter, deploymentHistory, getAdapter, listAdapters, type AdapterRecord } from '../../finetune/registry/index.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { sameSiteOnly } from './same-origin.ts';
import { routeLabel, state } from '../state.ts';
import { parseBody } from '../validation.ts';

// Fine-tuning in the console: runs with their loss curves, eval reports, adapters, and
// deploy / rollback through the same registry functions as `kb finetune deploy|rollback`. The
// promotion gate always applies here: overriding it (--force) stays a deliberate CLI act.

/** At most this many points per curve (long runs are thinned evenly; the last point is kept). */
const MAX_POINTS = 1500;

export interface LossCurve {
  train: Array<{ step: number; loss: number; lr: number | null }>;
  eval: Array<{ step: number; eval_loss: number }>;
  total_steps: number | null;
}

function thin<T>(xs: T[]): T[] {
  if (xs.length <= MAX_POINTS) return xs;
  const every = xs.length / MAX_POINTS;
  const out: T[] = [];
  for (let i = 0; i < MAX_POINTS - 1; i++) out.push(xs[Math.floor(i * every)]);
  out.push(xs[xs.length - 1]);
  return out;
}

/** The loss curve from the run's events.jsonl (the trainer's protocol lines). A resumed run repeats steps: the latest wins. */
export function lossCurve(runPath: string): LossCurve {
  const train = new Map<number, { step: number; loss: number; lr: number | null }>();
  const evals = new Map<number, { step: number; eval_loss: number }>();
  let total: number | null = null;
  let text = '';
  try {
    text = fs.readFileSync(path.join(runPath, 'events.jsonl'), 'utf8');
  } catch {
    return { train: [], eval: [], total_steps: null };
  }
  for (const line of text.split('\n')) {
    const ev = parseTrainerLine(line);
    if (!ev) continue;
    if (ev.event === 'start') total = ev.total_steps as number;
    if (ev.event === 'log' && Number.isFinite(ev.loss)) {
      train.set(ev.step, { step: ev.step, loss: ev.loss, lr: ev.lr ?? null });
      if (ev.eval_loss != null) evals.set(ev.step, { step: ev.step, eval_loss: ev.eval_loss });
      total ??= ev.total_steps;
    }
    if (ev.event === 'eval' && Number.isFinite(ev.eval_loss)) evals.set(ev.step, { step: ev.step, eval_loss: ev.eval_loss });
  }
  const bySteps = <T extends { step: number }>(m: Map<number, T>) => [...m.values()].sort((a, b) => a.step - b.step);
  return { train: thin(bySteps(train)), eval: thin(bySteps(evals)), total_steps: total };
}

const runJson = (r: RunRecord) => ({
  id: r.id,
  name: r.name,
  status: r.status,
  base_model: r.config.base_model,
  method: r.config.quantization === 'none' ? 'lora' : `qlora-${r.config.quantization}`,
  attempts: r.attempts,
  progress: r.progress,
  metrics: r.metrics,
  error_tail: r.errorTail,
  trigger: r.trigger,
  created_at: r.createdAt,
  finished_at: r.finishedAt,
});

const adapterJson = (a: AdapterRecord) => ({
  id: a.id,
  version: a.version,
  run_id: a.runId,
  base_model: a.baseModel,
  status: a.status,
  created_at: a.createdAt,
  deployed_at: a.deployedAt,
  eval_report: a.evalReport,
});

const deployBody = z.object({ assistant: z.string().min(1).optional(), note: z.string().max(500).optional() }).strict();

export function consoleFinetuneRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  const { db, config } = deps;
  const defaultAssistant = () => config.finetune_runs.assistant;

  const assistantOf = (name: string | undefined): { name: string; target: UpstreamTarget | null } => {
    const a = name ?? defaultAssistant();
    const settings = config.assistants[a];
    if (!settings) throw new HttpError(404, `Unknown assistant '${a}' (configured: ${Object.keys(config.assistants).join(', ')}).`, 'not_found_error', 'assistant_not_found', 'assistant');
    const up = settings.upstream ? config.upstreams[settings.upstream] : undefined;
    return { name: a, target: up ? { baseUrl: up.base_url, apiKey: up.api_key, timeoutMs: up.timeout_ms } : null };
  };

  r.get('/admin/finetune/runs', routeLabel('/v1/admin/finetune/runs'), ...guard, (_req, res) => {
    res.json({ object: 'list', data: listRuns(db, 100).map(runJson) });
  });

  r.get('/admin/finetune/runs/:ref', routeLabel('/v1/admin/finetune/runs/:ref'), ...guard, (req, res) => {
    const ref = String(req.params.ref);
    const run = getRun(db, /^\d+$/.test(ref) ? Number(ref) : ref);
    if (!run) throw new HttpError(404, `No fine-tuning run '${ref}'.`, 'not_found_error', 'run_not_found', 'ref');
    res.json({ ...runJson(run), config: run.config, loss: lossCurve(run.path) });
  });

  r.get('/admin/finetune/adapters', routeLabel('/v1/admin/finetune/adapters'), ...guard, (req, res) => {
    const { name } = assistantOf(typeof req.query.assistant === 'string' ? req.query.assistant : undefined);
    const current = activeAdapter(db, name);
    res.json({
      object: 'list',
      assistant: name,
      active: current?.version ?? null,
      // What the gate would say now, so the console can explain a refusal before anyone clicks.
      data: listAdapters(db).map((a) => ({
        ...adapterJson(a),
        gate: a.id === current?.id ? null : promotionGate(a.evalReport, { incumbentVersion: current?.version ?? null, incumbentReport: current?.evalReport ?? null, minImprovement: config.finetune_runs.deploy.min_improvement }),
      })),
      history: deploymentHistory(db, name, 50),
    });
  });

  r.post('/admin/finetune/adapters/:version/deploy', routeLabel('/v1/admin/finetune/adapters/:version/deploy'), sameSiteOnly, ...guard, async (req, res) => {
    const body = parseBody(deployBody, req.body ?? {});
    const version = String(req.params.version);
    if (!getAdapter(db, version)) throw new HttpError(404, `No adapter '${version}' in the registry.`, 'not_found_error', 'adapter_not_found', 'version');
    const { name, target } = assistantOf(body.assistant);
    let result;
    try {
      result = await deployAdapter(db, { version, assistant: name, target, minImprovement: config.finetune_runs.deploy.min_improvement, note: body.note ?? 'console' });
    } catch (err) {
      const msg = (err as Error).message;
      if (/is missing$/.test(msg)) throw new HttpError(409, msg, 'conflict_error', 'adapter_files_missing');
      throw new HttpError(502, msg, 'upstream_error', 'upstream_unavailable');
    }
    state(res).log.info({ adapter: version, assistant: name, status: result.status }, 'adapter deploy through the admin API');
    if (result.status === 'refused') throw new HttpError(409, result.message.replace(/ \(--force overrides\)$/, ''), 'conflict_error', 'promotion_gate_refused', 'version');
    res.json({ status: result.status, adapter: result.adapter.version, previous: result.previous, loaded: result.loaded, gate: result.gate, instructions: result.instructions, message: result.message });
  });

  r.post('/admin/finetune/rollback', routeLabel('/v1/admin/finetune/rollback'), sameSiteOnly, ...guard, async (req, res) => {
    const body = parseBody(deployBody, req.body ?? {});
    const { name, target } = assistantOf(body.assistant);
    if (!activeAdapter(db, name)) throw new HttpError(409, `Assistant '${name}' has no deployed adapter to roll back.`, 'conflict_error', 'nothing_to_roll_back', 'assistant');
    const r2 = await rollbackDeployment(db, { assistant: name, target, note: body.note ?? 'console' });
    state(res).log.info({ assistant: name, from: r2.from.version, to: r2.to?.version ?? null }, 'adapter rollback through the admin API');
    res.json({ assistant: name, from: r2.from.version, to: r2.to?.version ?? null, served: r2.served, warnings: r2.warnings });
  });
  return r;
}

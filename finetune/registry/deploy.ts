import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../src/store/index.ts';
import { promotionGate, type GateDecision } from './gate.ts';
import { activeAdapter, recordDeployment, requireAdapter, rollbackAdapter, type AdapterRecord, type RollbackResult } from './index.ts';

// Deployment: load the adapter into the serving engine (vLLM's runtime LoRA endpoint), check
// that it is served, then point the assistant at it. Where runtime loading is unavailable, print
// the serving lines for the operator and change nothing.

export interface UpstreamTarget {
  /** OpenAI-compatible base URL, with or without the trailing /v1. */
  baseUrl: string;
  apiKey?: string;
  timeoutMs?: number;
}

/** `${base}/v1${p}` whether or not baseUrl already ends in /v1. */
export function endpoint(baseUrl: string, p: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base.endsWith('/v1') ? base : `${base}/v1`}${p}`;
}

async function request(target: UpstreamTarget, method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  let res: Response;
  try {
    res = await fetch(endpoint(target.baseUrl, p), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(target.timeoutMs ?? 120_000),
    });
  } catch (err) {
    throw new Error(`cannot reach the upstream at ${endpoint(target.baseUrl, p)}: ${(err as Error).message}`);
  }
  return { status: res.status, text: await res.text() };
}

/** Model ids the upstream serves (GET /v1/models). */
export async function listServedModels(target: UpstreamTarget): Promise<string[]> {
  const r = await request(target, 'GET', '/models');
  if (r.status !== 200) throw new Error(`GET /v1/models answered ${r.status}: ${r.text.slice(0, 300)}`);
  const body = JSON.parse(r.text) as { data?: { id: string }[] };
  return (body.data ?? []).map((m) => m.id);
}

export type LoadResult = { ok: true; alreadyLoaded: boolean } | { ok: false; unsupported: boolean; status: number; message: string };

/**
 * POST /v1/load_lora_adapter (vLLM, needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True on the server).
 * A 404/405 means runtime loading is off (or the server is not vLLM).
 */
export async function loadLoraAdapter(target: UpstreamTarget, name: string, adapterPath: string): Promise<LoadResult> {
  const r = await request(target, 'POST', '/load_lora_adapter', { lora_name: name, lora_path: adapterPath });
  if (r.status >= 200 && r.status < 300) return { ok: true, alreadyLoaded: false };
  if (r.status === 400 && /already been loaded|already loaded/i.test(r.text)) return { ok: true, alreadyLoaded: true };
  return { ok: false, unsupported: r.status === 404 || r.status === 405, status: r.status, message: r.text.slice(0, 500) };
}

/** Lines an operator can use where runtime loading is not available. */
export function servingInstructions(a: { version: string; path: string; baseModel: string; rank?: number | null }): string[] {
  const rank = a.rank ?? readRank(a.path);
  return [
    '# vLLM (static): restart the server with the adapter',
    `vllm serve ${a.baseModel} --enable-lora --max-lora-rank ${Math.max(16, rank ?? 16)} --lora-modules ${a.version}=${a.path}`,
    '# vLLM (runtime loading): start the server with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and --enable-lora, then rerun deploy',
    '# Ollama: Modelfile (safetensors adapters need an architecture Ollama supports; otherwise convert to GGUF first)',
    `FROM ${a.baseModel}`,
    `ADAPTER ${a.path}`,
    `#   ollama create ${a.version} -f Modelfile`,
    '# llama.cpp: python convert_lora_to_gguf.py --base <base model folder> ' + `${a.path}` + ` --outfile ${a.version}.gguf ; llama-server -m <base.gguf> --lora ${a.version}.gguf`,
    `# then: kb finetune deploy <run> --no-load   (checks /v1/models lists "${a.version}" and activates it)`,
  ];
}

function readRank(adapterPath: string): number | null {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(adapterPath, 'adapter_config.json'), 'utf8')) as { r?: number };
    return typeof cfg.r === 'number' ? cfg.r : null;
  } catch {
    return null;
  }
}

export interface DeployOptions {
  version: string;
  assistant: string;
  /** The assistant's upstream; null = no server to load into (print the serving lines). */
  target: UpstreamTarget | null;
  /** Skip the promotion gate (recorded on the deployment row). */
  force?: boolean;
  minImprovement?: number;
  /** false = do not call the runtime endpoint; only check /v1/models and activate. */
  load?: boolean;
  note?: string;
}

export interface DeployResult {
  status: 'deployed' | 'refused' | 'needs_manual_load' | 'already_active';
  adapter: AdapterRecord;
  previous: string | null;
  gate: GateDecision | null;
  loaded: 'runtime' | 'already_served' | null;
  instructions: string[];
  message: string;
}

export async function deployAdapter(db: DB, opts: DeployOptions): Promise<DeployResult> {
  const adapter = requireAdapter(db, opts.version);
  const current = activeAdapter(db, opts.assistant);
  const base = { adapter, previous: current?.version ?? null, instructions: [] as string[] };
  if (current?.id === adapter.id) {
    return { ...base, status: 'already_active', gate: null, loaded: null, message: `${adapter.version} is already active for ${opts.assistant}` };
  }
  for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
    if (!fs.existsSync(path.join(adapter.path, f))) throw new Error(`adapter ${adapter.version}: ${path.join(adapter.path, f)} is missing`);
  }

  const gate = promotionGate(adapter.evalReport, { incumbentVersion: current?.version ?? null, incumbentReport: current?.evalReport ?? null, minImprovement: opts.minImprovement });
  if (!gate.pass && !opts.force) {
    return { ...base, status: 'refused', gate, loaded: null, message: `promotion gate refused ${adapter.version}: ${gate.reason} (--force overrides)` };
  }

  const manual = (why: string): DeployResult => ({
    ...base,
    status: 'needs_manual_load',
    gate,
    loaded: null,
    instructions: servingInstructions(adapter),
    message: `${why}; nothing was activated. Serve the adapter with one of the lines below, then rerun with --no-load.`,
  });
  if (!opts.target) return manual(`assistant "${opts.assistant}" has no upstream to load the adapter into`);

  let loaded: DeployResult['loaded'] = null;
  if (opts.load !== false) {
    const r = await loadLoraAdapter(opts.target, adapter.version, adapter.path);
    if (!r.ok && r.unsupported) return manual(`the upstream has no runtime LoRA endpoint (HTTP ${r.status}; vLLM needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)`);
    if (!r.ok) throw new Error(`loading ${adapter.version} failed: HTTP ${r.status}: ${r.message}`);
    loaded = r.alreadyLoaded ? 'already_served' : 'runtime';
  }
  const served = await listServedModels(opts.target);
  if (!served.includes(adapter.version)) {
    if (opts.load === false) return manual(`the upstream does not list "${adapter.version}" in /v1/models`);
    throw new Error(`the upstream accepted ${adapter.version} but /v1/models does not list it (served: ${served.join(', ') || 'none'})`);
  }
  loaded ??= 'already_served';
  recordDeployment(db, { assistant: opts.assistant, version: adapter.version, forced: opts.force && !gate.pass, gate, note: opts.note });
  return {
    ...base,
    status: 'deployed',
    gate,
    loaded,
    message: `${opts.assistant} now uses ${adapter.version}${current ? ` (was ${current.version})` : ''}${opts.force && !gate.pass ? ' — promotion gate overridden with --force' : ''}`,
  };
}

export interface RollbackOutcome extends RollbackResult {
  /** Whether the adapter rolled back to is served by the upstream (null = not checked). */
  served: boolean | null;
  warnings: string[];
}

/**
 * Rolls the assistant back (always: it is the emergency path), then makes sure the previous
 * adapter is served, loading it at runtime when possible. The chat server falls back to the
 * base model while an adapter is missing, so a warning is enough when it cannot be loaded.
 */
export async function rollbackDeployment(db: DB, opts: { assistant: string; target: UpstreamTarget | null; note?: string }): Promise<RollbackOutcome> {
  const result = rollbackAdapter(db, opts.assistant, opts.note);
  const warnings: string[] = [];
  if (!result.to || !opts.target) return { ...result, served: null, warnings };
  let served = false;
  try {
    served = (await listServedModels(opts.target)).includes(result.to.version);
    if (!served) {
      const r = await loadLoraAdapter(opts.target, result.to.version, result.to.path);
      served = r.ok;
      if (!r.ok) warnings.push(`the upstream does not serve ${result.to.version} and could not load it (HTTP ${r.status}); chat falls back to the base model until it is served:\n${servingInstructions(result.to).join('\n')}`);
    }
  } catch (err) {
    warnings.push(`could not check the upstream: ${(err as Error).message}`);
  }
  return { ...result, served, warnings };
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type DB } from '../../src/store/index.ts';
import type { EvalReport, SettingName, SettingResult } from '../eval/report-types.ts';
import { deployAdapter, endpoint, rollbackDeployment, servingInstructions } from './deploy.ts';
import { startScriptedVllm, type ScriptedServer } from './fixtures/scripted-vllm.ts';
import { promotionGate } from './gate.ts';
import { activeAdapter, deploymentHistory, getAdapter, recordDeployment, registerAdapter, rollbackAdapter, setEvalReport, versionFor } from './index.ts';

let dir: string;
let db: DB;
let server: ScriptedServer | null = null;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-registry-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
});
afterEach(async () => {
  await server?.close();
  server = null;
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function setting(name: SettingName, score: number | null, model = 'm'): SettingResult {
  return { setting: name, model, retrieval: name.endsWith('+rag'), status: 'ok', n: 10, scored: 10, errors: 0, em: null, f1: score, rouge_l: null, refusal_accuracy: null, false_refusal_rate: null, score };
}
function report(adapter: string, scores: Partial<Record<SettingName, number>>, incumbent: string | null = null): EvalReport {
  const settings = (Object.entries(scores) as [SettingName, number][]).map(([k, v]) => setting(k, v));
  return { version: 1, run: adapter, adapter, base_model: 'base', incumbent, test_file: 't', samples: 10, answerable: 8, refusal_samples: 2, created_at: '', settings, primary: scores['adapter+rag'] != null ? 'adapter+rag' : 'adapter', notes: [] };
}
function adapterDir(version: string, r = 16) {
  const p = path.join(dir, version);
  fs.mkdirSync(p, { recursive: true });
  fs.writeFileSync(path.join(p, 'adapter_config.json'), JSON.stringify({ r }));
  fs.writeFileSync(path.join(p, 'adapter_model.safetensors'), '');
  return p;
}
function addAdapter(version: string, scores: Partial<Record<SettingName, number>>, incumbent: string | null = null) {
  registerAdapter(db, { version, path: adapterDir(version), baseModel: 'base' });
  setEvalReport(db, version, report(version, scores, incumbent));
}

describe('registry', () => {
  it('names half-year versions', () => {
    expect(versionFor(new Date('2026-01-01T02:00:00Z'))).toBe('company-2026h1');
    expect(versionFor(new Date('2026-06-30T23:00:00Z'))).toBe('company-2026h1');
    expect(versionFor(new Date('2026-07-01T02:00:00Z'), 'acme')).toBe('acme-2026h2');
  });

  it('deploy pushes and rollback pops, per assistant, keeping statuses in step', () => {
    addAdapter('v1', { adapter: 0.5 });
    addAdapter('v2', { adapter: 0.6 });
    expect(activeAdapter(db, 'kb')).toBeNull();
    recordDeployment(db, { assistant: 'kb', version: 'v1' });
    recordDeployment(db, { assistant: 'kb', version: 'v2' });
    recordDeployment(db, { assistant: 'other', version: 'v1' });
    expect(activeAdapter(db, 'kb')!.version).toBe('v2');
    expect(getAdapter(db, 'v1')!.status).toBe('active'); // still active for "other"
    const back = rollbackAdapter(db, 'kb');
    expect([back.from.version, back.to?.version]).toEqual(['v2', 'v1']);
    expect(activeAdapter(db, 'kb')!.version).toBe('v1');
    expect(getAdapter(db, 'v2')!.status).toBe('retired');
    expect(rollbackAdapter(db, 'kb').to).toBeNull(); // back to the base model
    expect(activeAdapter(db, 'kb')).toBeNull();
    expect(() => rollbackAdapter(db, 'kb')).toThrow(/no deployed adapter/);
    expect(activeAdapter(db, 'other')!.version).toBe('v1');
    expect(deploymentHistory(db, 'kb').map((d) => `${d.action}:${d.adapter ?? 'base'}`)).toEqual(['rollback:base', 'rollback:v1', 'deploy:v2', 'deploy:v1']);
  });

  it('refuses to register one version for two different runs', () => {
    registerAdapter(db, { version: 'v1', path: '/a', baseModel: 'b' });
    expect(registerAdapter(db, { version: 'v1', path: '/a', baseModel: 'b' }).version).toBe('v1');
    expect(() => registerAdapter(db, { version: 'v1', path: '/other', baseModel: 'b' })).toThrow(/already registered/);
    expect(() => registerAdapter(db, { version: 'bad name', path: '/a', baseModel: 'b' })).toThrow(/letters/);
  });
});

describe('promotion gate', () => {
  it('with no incumbent the candidate must beat the base model on the same setting', () => {
    expect(promotionGate(report('v1', { 'base+rag': 0.4, 'adapter+rag': 0.5 }), { incumbentVersion: null }).pass).toBe(true);
    const d = promotionGate(report('v1', { 'base+rag': 0.5, 'adapter+rag': 0.5 }), { incumbentVersion: null });
    expect(d.pass).toBe(false);
    expect(d.reason).toMatch(/does not beat/);
    expect(promotionGate(report('v1', { base: 0.4, adapter: 0.45 }), { incumbentVersion: null, minImprovement: 0.1 }).pass).toBe(false);
  });
  it('prefers the incumbent scored on the same questions', () => {
    const d = promotionGate(report('v2', { 'base+rag': 0.1, 'adapter+rag': 0.6, 'active+rag': 0.7 }, 'v1'), { incumbentVersion: 'v1', incumbentReport: report('v1', { 'adapter+rag': 0.2 }) });
    expect(d.pass).toBe(false);
    expect(d.baseline.source).toBe('incumbent-same-questions');
  });
  it("falls back to the incumbent's own report, and refuses when there is none", () => {
    const cand = report('v2', { 'adapter+rag': 0.6 });
    expect(promotionGate(cand, { incumbentVersion: 'v1', incumbentReport: report('v1', { 'adapter+rag': 0.55 }) })).toMatchObject({ pass: true, baseline: { source: 'incumbent-report' } });
    expect(promotionGate(cand, { incumbentVersion: 'v1', incumbentReport: null }).pass).toBe(false);
    expect(promotionGate(null, { incumbentVersion: null }).reason).toMatch(/no eval report/);
  });
});

describe('deploy against a scripted vLLM-like server', () => {
  it('builds endpoint URLs with or without /v1', () => {
    expect(endpoint('http://h:8000/v1/', '/models')).toBe('http://h:8000/v1/models');
    expect(endpoint('http://h:8000', '/load_lora_adapter')).toBe('http://h:8000/v1/load_lora_adapter');
  });

  it('loads the adapter at runtime, verifies /v1/models, activates it', async () => {
    server = await startScriptedVllm({ baseModel: 'base' });
    addAdapter('company-2026h1', { 'base+rag': 0.3, 'adapter+rag': 0.6 });
    const r = await deployAdapter(db, { version: 'company-2026h1', assistant: 'kb', target: { baseUrl: server.url } });
    expect(r.status).toBe('deployed');
    expect(r.loaded).toBe('runtime');
    expect(server.requests.find((q) => q.path === '/v1/load_lora_adapter')!.body).toEqual({ lora_name: 'company-2026h1', lora_path: path.join(dir, 'company-2026h1') });
    expect(activeAdapter(db, 'kb')!.version).toBe('company-2026h1');
    expect((await deployAdapter(db, { version: 'company-2026h1', assistant: 'kb', target: { baseUrl: server.url } })).status).toBe('already_active');
  });

  it('the gate refuses an adapter that does not beat the active one; --force overrides and is recorded', async () => {
    server = await startScriptedVllm({ baseModel: 'base' });
    addAdapter('v1', { 'base+rag': 0.3, 'adapter+rag': 0.6 });
    await deployAdapter(db, { version: 'v1', assistant: 'kb', target: { baseUrl: server.url } });
    addAdapter('v2', { 'base+rag': 0.3, 'adapter+rag': 0.55, 'active+rag': 0.6 }, 'v1');
    const refused = await deployAdapter(db, { version: 'v2', assistant: 'kb', target: { baseUrl: server.url } });
    expect(refused.status).toBe('refused');
    expect(refused.message).toMatch(/promotion gate refused v2/);
    expect(server.served.has('v2')).toBe(false); // nothing loaded
    expect(activeAdapter(db, 'kb')!.version).toBe('v1');
    const forced = await deployAdapter(db, { version: 'v2', assistant: 'kb', target: { baseUrl: server.url }, force: true });
    expect(forced.status).toBe('deployed');
    expect(deploymentHistory(db, 'kb')[0]).toMatchObject({ adapter: 'v2', previous: 'v1', forced: true });
  });

  it('without runtime loading it prints the serving lines and activates nothing; --no-load activates once served', async () => {
    server = await startScriptedVllm({ baseModel: 'base', runtimeLora: false });
    addAdapter('v1', { base: 0.3, adapter: 0.6 });
    const r = await deployAdapter(db, { version: 'v1', assistant: 'kb', target: { baseUrl: server.url } });
    expect(r.status).toBe('needs_manual_load');
    expect(r.instructions.join('\n')).toContain(`--lora-modules v1=${path.join(dir, 'v1')}`);
    expect(r.instructions.join('\n')).toContain(`ADAPTER ${path.join(dir, 'v1')}`);
    expect(activeAdapter(db, 'kb')).toBeNull();
    expect((await deployAdapter(db, { version: 'v1', assistant: 'kb', target: { baseUrl: server.url }, load: false })).status).toBe('needs_manual_load');
    server.served.add('v1'); // the operator restarted vLLM with --lora-modules
    const ok = await deployAdapter(db, { version: 'v1', assistant: 'kb', target: { baseUrl: server.url }, load: false });
    expect(ok).toMatchObject({ status: 'deployed', loaded: 'already_served' });
  });

  it('a load error from the server is reported, not activated', async () => {
    server = await startScriptedVllm({ baseModel: 'base', loadable: () => false });
    addAdapter('v1', { base: 0.3, adapter: 0.6 });
    await expect(deployAdapter(db, { version: 'v1', assistant: 'kb', target: { baseUrl: server.url } })).rejects.toThrow(/HTTP 400.*No adapter found/);
    expect(activeAdapter(db, 'kb')).toBeNull();
  });

  it('refuses an adapter whose files are missing', async () => {
    registerAdapter(db, { version: 'ghost', path: path.join(dir, 'nowhere'), baseModel: 'base' });
    await expect(deployAdapter(db, { version: 'ghost', assistant: 'kb', target: null })).rejects.toThrow(/adapter_config.json is missing/);
  });

  it('rollback re-loads the previous adapter when the server lost it', async () => {
    server = await startScriptedVllm({ baseModel: 'base' });
    addAdapter('v1', { base: 0.3, adapter: 0.6 });
    addAdapter('v2', { adapter: 0.7, active: 0.6 }, 'v1');
    await deployAdapter(db, { version: 'v1', assistant: 'kb', target: { baseUrl: server.url } });
    await deployAdapter(db, { version: 'v2', assistant: 'kb', target: { baseUrl: server.url } });
    server.served.clear(); // vLLM restarted
    const r = await rollbackDeployment(db, { assistant: 'kb', target: { baseUrl: server.url } });
    expect(r.to!.version).toBe('v1');
    expect(r.served).toBe(true);
    expect(server.served.has('v1')).toBe(true);
    expect(activeAdapter(db, 'kb')!.version).toBe('v1');
  });

  it('serving instructions use the adapter rank', () => {
    expect(servingInstructions({ version: 'v', path: adapterDir('v', 64), baseModel: 'b' })[1]).toContain('--max-lora-rank 64');
  });
});

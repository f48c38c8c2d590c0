import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { OpenAIChatModel } from '../../src/llm/openai-chat-model.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { deployAdapter } from '../registry/deploy.ts';
import { startScriptedVllm, type ScriptedServer } from '../registry/fixtures/scripted-vllm.ts';
import { getAdapter, recordDeployment, registerAdapter } from '../registry/index.ts';
import { insertRun, requireRun, updateRun } from '../runs/store.ts';
import { buildRunConfig } from '../train/run-config.ts';
import { evaluateRun, type EvaluateRunOptions } from './evaluate-run.ts';

let dir: string;
let db: DB;
let server: ScriptedServer;
const cfg = loadConfig({ env: {} });

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-evalrun-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
  fs.mkdirSync(path.join(dir, 'ds', 'samples'), { recursive: true });
  const rows = [
    { id: '1', kind: 'single_fact', messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris' }] },
    { id: '2', kind: 'refusal', messages: [{ role: 'user', content: 'CEO of Zorblat?' }, { role: 'assistant', content: 'I have no record of Zorblat.' }] },
  ];
  fs.writeFileSync(path.join(dir, 'ds', 'samples', 'test.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
  // old: knows Paris, makes up a CEO. new: knows Paris and refuses. base: knows nothing.
  server = await startScriptedVllm({
    baseModel: 'base',
    answer: (b) => {
      const q = b.messages.at(-1)!.content;
      if (b.model === 'base') return 'Lyon';
      if (q.includes('France')) return 'Paris';
      return b.model === 'new' ? 'I have no record of a company called Zorblat.' : 'John Smith';
    },
  });
});
afterEach(async () => {
  await server.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function adapterFiles(name: string) {
  const p = path.join(dir, name);
  fs.mkdirSync(p, { recursive: true });
  fs.writeFileSync(path.join(p, 'adapter_config.json'), '{"r":8}');
  fs.writeFileSync(path.join(p, 'adapter_model.safetensors'), '');
  return p;
}

function succeededRun(name: string) {
  const cfg = buildRunConfig({ runName: name, baseModel: 'org/base', datasetDir: path.join(dir, 'ds'), runDir: path.join(dir, 'runs', name) });
  fs.mkdirSync(path.join(dir, 'runs', name), { recursive: true });
  const run = insertRun(db, { name, config: cfg, path: path.join(dir, 'runs', name) });
  updateRun(db, run.id, { status: 'succeeded', adapterPath: adapterFiles(name) });
  return requireRun(db, run.id);
}

const options = (run: ReturnType<typeof succeededRun>): EvaluateRunOptions => ({
  db, run, assistant: 'kb', target: { baseUrl: server.url }, baseModelName: 'base',
  chatFor: (model) => new OpenAIChatModel({ upstreamName: 't', baseUrl: server.url, apiKey: '', timeoutMs: 5000, maxRetries: 0, model }),
  assistantSettings: { ...cfg.assistants['kb-assistant'], system_prompt: '', instructions_in: 'system' }, config: cfg,
  retriever: null, retrievalUnavailable: 'no index in this test', maxTokens: 64, topK: 3, concurrency: 2, maxSamples: 0, refusalPatterns: [],
});

describe('evaluateRun', () => {
  it('loads the candidate at runtime, evaluates it beside the active adapter, stores the report, and the gate uses the same questions', async () => {
    registerAdapter(db, { version: 'old', path: adapterFiles('old'), baseModel: 'org/base' });
    server.served.add('old');
    recordDeployment(db, { assistant: 'kb', version: 'old' });
    const run = succeededRun('new');

    const r = await evaluateRun(options(run));
    expect(server.served.has('new')).toBe(true);
    expect(r.report.incumbent).toBe('old');
    const by = Object.fromEntries(r.report.settings.map((s) => [s.setting, s]));
    expect(by.adapter.score).toBe(1);
    expect(by.active.score).toBe(0.5);
    expect(by.base.score).toBe(0);
    expect(by['adapter+rag'].status).toBe('skipped');
    expect(fs.existsSync(path.join(run.path, 'eval', 'report.md'))).toBe(true);
    expect(getAdapter(db, 'new')!.evalReport!.primary).toBe('adapter');

    const d = await deployAdapter(db, { version: 'new', assistant: 'kb', target: { baseUrl: server.url } });
    expect(d.status).toBe('deployed');
    expect(d.gate!.baseline.source).toBe('incumbent-same-questions');
  });

  it('refuses runs that did not succeed and an upstream without the base model', async () => {
    const run = succeededRun('r');
    updateRun(db, run.id, { status: 'failed' });
    await expect(evaluateRun(options(requireRun(db, run.id)))).rejects.toThrow(/only a succeeded run/);
    const ok = succeededRun('r2');
    await expect(evaluateRun({ ...options(ok), baseModelName: 'other' })).rejects.toThrow(/does not serve the base model "other"/);
  });

  it('an unserved candidate on a server without runtime loading fails with the serving lines', async () => {
    await server.close();
    server = await startScriptedVllm({ baseModel: 'base', runtimeLora: false });
    const run = succeededRun('r3');
    await expect(evaluateRun(options(run))).rejects.toThrow(/--lora-modules r3=/);
  });
});

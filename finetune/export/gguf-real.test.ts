import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../src/config/index.ts';
import { generateDemoCore } from '../../src/core/demo.ts';
import { openStore, storePath } from '../../src/store/index.ts';
import { estimateTokenCounter } from '../../src/text/tokens.ts';
import { prepareDataset } from '../prepare/index.ts';
import { listExports } from '../registry/exports.ts';
import { insertRun, updateRun } from '../runs/store.ts';
import { TRAINER_SCRIPT, buildRunConfig, parseRunConfig, writeRunConfig } from '../train/run-config.ts';
import { SETUP_COMMAND, venvPython } from '../train/venv.ts';
import { CONVERT_HF, venvLlamaCppDir } from './llama-cpp.ts';
import { readChatTemplate } from './modelfile.ts';
import { TINY_CPU_RUN } from '../../test/fixtures/tiny-qwen2/run-overrides.ts';

// `kb finetune export --format gguf|adapter-gguf` with llama.cpp's real converters (the pinned
// copy setup-venv.sh puts into the trainer venv), on CPU: a tiny Qwen2 is trained for a few
// steps, the CLI merges and converts it, and the GGUF files are read back with llama.cpp's own
// gguf-py reader and compared with the merged safetensors and the adapter.
//
// One test-only seam, for the full-model conversion: convert_hf_to_gguf.py refuses BPE
// tokenizers whose pre-tokenizer hash it does not list, and the tiny tokenizer is trained here.
// test/fixtures/tiny-qwen2/llama-cpp-shim/convert_hf_to_gguf.py runs the unmodified converter
// with that one hash registered (see its docstring); kb reaches it through --llama-cpp, the
// same flag a GPU host uses for its own checkout. The adapter conversion needs no tokenizer and
// runs the venv's converter found by default.

const python = venvPython();
const llamaDir = venvLlamaCppDir();
const ready = !!python && fs.existsSync(path.join(llamaDir, CONVERT_HF));
if (!ready) console.warn(`GGUF export tests skipped: ${python ? "llama.cpp's converters are not in the trainer environment" : 'the trainer environment is not set up'} (run ${SETUP_COMMAND})`);

const FIXTURE = path.join(projectRoot, 'test', 'fixtures', 'tiny-qwen2');
const SHIM = path.join(FIXTURE, 'llama-cpp-shim');
const PY_ENV = { PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '2', TOKENIZERS_PARALLELISM: 'false' };

let dir: string;
let model: string;
let dataDir: string;
let runDir: string;
let lora: { r: number; alpha: number };

function kb(args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), ...args], {
    env: { ...process.env, ...PY_ENV, KB_DATA_DIR: dataDir, KB_LOG__LEVEL: 'warn', LLAMA_CPP_DIR: '', ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

interface Read {
  fields: Record<string, unknown>;
  tensors: Record<string, { type: string; shape: number[] }>;
  compare: Record<string, { shape_equal: boolean; max_abs_diff: number; max_abs: number }>;
}

/** The GGUF as llama.cpp's gguf-py reads it, with tensors compared to safetensors ones. */
function readGguf(file: string, pairs: string[] = []): Read {
  const r = spawnSync(python!, [path.join(FIXTURE, 'gguf_check.py'), path.join(llamaDir, 'gguf-py'), file, ...pairs], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...PY_ENV } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Read;
}

/** Equal within f16 rounding: 10 mantissa bits, relative to the tensor's largest value. */
const withinF16 = (c: Read['compare'][string]) => c.shape_equal && c.max_abs_diff <= c.max_abs / 1024;
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeAll(async () => {
  if (!ready) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-gguf-real-'));
  // The generated demo training set as `kb finetune prepare` writes it, cut to a few records:
  // the export only needs an adapter that moved away from the base weights.
  const memDb = openStore(':memory:');
  const defaults = loadConfig({ env: {} });
  generateDemoCore(memDb, defaults.core, path.join(dir, 'core'));
  const data = path.join(dir, 'dataset');
  await prepareDataset({ db: memDb, core: defaults.core, finetune: defaults.finetune, outDir: data, seed: 7, tokenCounter: estimateTokenCounter });
  memDb.close();
  for (const [split, n] of [['train', 64], ['val', 8]] as const) {
    const file = path.join(data, `${split}.jsonl`);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, n).join('\n') + '\n');
  }
  model = path.join(dir, 'tiny-qwen2');
  const built = spawnSync(python!, [path.join(FIXTURE, 'build.py'), '--out', model, '--corpus', path.join(data, 'train.jsonl')], { encoding: 'utf8', timeout: 180_000 });
  if (built.status !== 0) throw new Error(`building the tiny model failed:\n${built.stderr}`);

  runDir = path.join(dir, 'exp');
  const cfg = buildRunConfig({
    runName: 'exp',
    baseModel: model,
    datasetDir: data,
    runDir,
    overrides: {
      ...TINY_CPU_RUN,
      'training.warmup_steps': 1,
      'training.max_steps': 6,
      'eval.every_steps': 6,
      'logging.every_steps': 3,
      'checkpoint.every_steps': 100,
    },
  });
  lora = { r: cfg.lora.r, alpha: cfg.lora.alpha };
  writeRunConfig(path.join(runDir, 'run.json'), cfg);
  const trained = spawnSync(python!, [TRAINER_SCRIPT, '--config', path.join(runDir, 'run.json')], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...PY_ENV } });
  if (trained.status !== 0) throw new Error(`training failed:\n${trained.stderr.slice(-3000)}`);

  // The run as `kb finetune train` leaves it in the registry of a kb data folder.
  dataDir = path.join(dir, 'kb');
  const db = openStore(storePath(loadConfig({ env: { KB_DATA_DIR: dataDir } })));
  const run = insertRun(db, { name: 'exp', config: parseRunConfig(JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'))), path: runDir });
  updateRun(db, run.id, { status: 'succeeded', adapterPath: path.join(runDir, 'output', 'adapter') });
  db.close();
}, 600_000);
afterAll(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

function registry() {
  const db = openStore(storePath(loadConfig({ env: { KB_DATA_DIR: dataDir } })));
  try {
    return listExports(db);
  } finally {
    db.close();
  }
}

describe.skipIf(!ready)("kb finetune export with llama.cpp's converters (CPU)", () => {
  // Where the gguf export merges to (the first test), and what the last one corrupts.
  const merged = () => path.join(runDir, 'export', 'merged');

  it('gguf: merges, converts with convert_hf_to_gguf.py, and the file reads back as the merged qwen2 model with its tokenizer and chat template', () => {
    const r = kb(['finetune', 'export', 'exp', '--format', 'gguf', '--llama-cpp', SHIM, '--json'], { KBTEST_LLAMA_CPP_DIR: llamaDir, KBTEST_TOKENIZER_DIR: model });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rec = JSON.parse(r.stdout) as { path: string; sha256: string; bytes: number; format: string; details: Record<string, string> };
    expect(rec).toMatchObject({ format: 'gguf', path: path.join(runDir, 'export', 'gguf', 'exp-f16.gguf') });
    expect(rec.sha256).toBe(sha256(rec.path));
    expect(rec.bytes).toBe(fs.statSync(rec.path).size);
    expect(rec.details).toMatchObject({ outtype: 'f16', converter_via: '--llama-cpp', merged_from: merged(), template_family: 'chatml' });
    // The registry holds the merge the conversion started from and the GGUF, both with checksums.
    const rows = registry();
    expect(rows.map((e) => e.format)).toEqual(['merged', 'gguf']);
    expect(rows[1]).toMatchObject({ path: rec.path, sha256: rec.sha256 });

    const config = JSON.parse(fs.readFileSync(path.join(merged(), 'config.json'), 'utf8')) as Record<string, number>;
    const q = 'model.layers.0.self_attn.q_proj.weight';
    const g = readGguf(rec.path, [`blk.0.attn_q.weight=${path.join(merged(), 'model.safetensors')}:${q}`, `blk.0.attn_q.weight=${path.join(model, 'model.safetensors')}:${q}`, `token_embd.weight=${path.join(merged(), 'model.safetensors')}:model.embed_tokens.weight`]);
    expect(g.fields).toMatchObject({
      'general.architecture': 'qwen2',
      'general.type': 'model',
      'general.file_type': 1, // MOSTLY_F16
      'qwen2.block_count': config.num_hidden_layers,
      'qwen2.embedding_length': config.hidden_size,
      'qwen2.feed_forward_length': config.intermediate_size,
      'qwen2.attention.head_count': config.num_attention_heads,
      'qwen2.attention.head_count_kv': config.num_key_value_heads,
      'qwen2.context_length': config.max_position_embeddings,
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': 'gpt-2',
      'tokenizer.ggml.eos_token_id': config.eos_token_id,
    });
    expect((g.fields['tokenizer.ggml.tokens'] as { len: number; head: string[] }).len).toBe(config.vocab_size);
    expect((g.fields['tokenizer.ggml.tokens'] as { head: string[] }).head).toEqual(['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    expect((g.fields['tokenizer.ggml.merges'] as { len: number }).len).toBeGreaterThan(0);
    expect(g.fields['tokenizer.chat_template']).toBe(readChatTemplate(merged())!.jinja);
    expect(g.tensors['blk.0.attn_q.weight']).toEqual({ type: 'F16', shape: [config.hidden_size, config.hidden_size] });
    // 2 layers × 12 tensors + embedding + final norm (the output matrix is tied to the embedding).
    expect(Object.keys(g.tensors)).toHaveLength(config.num_hidden_layers * 12 + 2);
    // The weights are the merged ones: equal to the merged safetensors within f16 rounding, and
    // not the base model's (the adapter moved them by more than that rounding).
    const [vsMerged, vsBase, embd] = Object.values(g.compare);
    expect(withinF16(vsMerged), JSON.stringify(vsMerged)).toBe(true);
    expect(withinF16(vsBase), JSON.stringify(vsBase)).toBe(false);
    expect(withinF16(embd), JSON.stringify(embd)).toBe(true);

    // The Ollama Modelfile beside it points at the file and carries the chat template.
    const mf = fs.readFileSync(rec.details.modelfile, 'utf8');
    const from = /^FROM (.+)$/m.exec(mf)![1];
    expect(path.resolve(path.dirname(rec.details.modelfile), from)).toBe(rec.path);
    expect(mf).toContain('TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}');
    expect(mf).toContain('PARAMETER stop "<|im_end|>"');
    console.info(`GGUF export of the tiny Qwen2 (CPU, smoke figure): merge + convert_hf_to_gguf.py ${r.seconds.toFixed(1)} s through the CLI, ${rec.bytes} bytes f16`);
  }, 400_000);

  it('gguf --gguf-type q8_0: the same merged weights, quantised by the converter (the RUNBOOK\'s Ollama recipe)', () => {
    const r = kb(['finetune', 'export', 'exp', '--format', 'gguf', '--gguf-type', 'q8_0', '--llama-cpp', SHIM, '--json'], { KBTEST_LLAMA_CPP_DIR: llamaDir, KBTEST_TOKENIZER_DIR: model });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rec = JSON.parse(r.stdout) as { path: string; sha256: string; bytes: number; details: Record<string, string> };
    expect(rec.path).toBe(path.join(runDir, 'export', 'gguf', 'exp-q8_0.gguf'));
    expect(rec.sha256).toBe(sha256(rec.path));
    // The merge recorded by the f16 export is reused, not redone.
    expect(registry().map((e) => e.format)).toEqual(['merged', 'gguf', 'gguf']);
    const g = readGguf(rec.path, [`blk.0.attn_q.weight=${path.join(merged(), 'model.safetensors')}:model.layers.0.self_attn.q_proj.weight`]);
    expect(g.fields['general.file_type']).toBe(7); // MOSTLY_Q8_0
    expect(g.tensors['blk.0.attn_q.weight'].type).toBe('Q8_0');
    // q8_0: 32-value blocks, one scale each, so the error is at most about half a step of 1/127.
    const c = Object.values(g.compare)[0];
    expect(c.shape_equal).toBe(true);
    expect(c.max_abs_diff).toBeLessThanOrEqual(c.max_abs / 127);
    expect(fs.readFileSync(rec.details.modelfile, 'utf8')).toMatch(/^FROM \.\/exp-q8_0\.gguf$/m);
    console.info(`q8_0 GGUF of the tiny Qwen2 (CPU, smoke figure): ${r.seconds.toFixed(1)} s through the CLI (merge reused), ${rec.bytes} bytes`);
  }, 300_000);

  it("adapter-gguf: convert_lora_to_gguf.py from the trainer venv (found without flags) writes the LoRA that reads back as the adapter's tensors", () => {
    const r = kb(['finetune', 'export', 'exp', '--format', 'adapter-gguf', '--ollama-base', 'tiny-base:latest', '--json']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const rec = JSON.parse(r.stdout) as { path: string; sha256: string; bytes: number; details: Record<string, string> };
    expect(rec.path).toBe(path.join(runDir, 'export', 'adapter-gguf', 'exp-adapter-f16.gguf'));
    expect(rec.sha256).toBe(sha256(rec.path));
    expect(rec.details).toMatchObject({ converter: path.join(llamaDir, 'convert_lora_to_gguf.py'), converter_via: 'trainer venv', base_model: model });
    expect(rec.details.converter_source).toMatch(/^llama-cpp-python==\S+ sha256:[0-9a-f]{64}$/);
    expect(registry().at(-1)).toMatchObject({ format: 'adapter-gguf', sha256: rec.sha256 });

    const adapter = path.join(runDir, 'output', 'adapter', 'adapter_model.safetensors');
    const prefix = 'base_model.model.model.layers.0.self_attn.q_proj';
    const g = readGguf(rec.path, [`blk.0.attn_q.weight.lora_a=${adapter}:${prefix}.lora_A.weight`, `blk.0.attn_q.weight.lora_b=${adapter}:${prefix}.lora_B.weight`]);
    expect(g.fields).toMatchObject({ 'general.architecture': 'qwen2', 'general.type': 'adapter', 'adapter.type': 'lora', 'adapter.lora.alpha': lora.alpha });
    // all-linear: q, k, v, o, gate, up, down in each of the 2 layers, an A and a B for each.
    expect(Object.keys(g.tensors)).toHaveLength(2 * 7 * 2);
    expect(g.tensors['blk.0.attn_q.weight.lora_a'].shape[0]).toBe(lora.r);
    for (const c of Object.values(g.compare)) expect(withinF16(c), JSON.stringify(c)).toBe(true);
    expect(Object.values(g.compare)[1].max_abs).toBeGreaterThan(0); // B trained away from its zero init

    const mf = fs.readFileSync(rec.details.modelfile, 'utf8');
    expect(mf).toMatch(/^FROM tiny-base:latest\nADAPTER \.\/exp-adapter-f16\.gguf$/m);
    expect(mf).toContain('PARAMETER stop "<|im_end|>"');
    console.info(`adapter GGUF of the tiny Qwen2 (CPU, smoke figure): convert_lora_to_gguf.py ${r.seconds.toFixed(1)} s through the CLI, ${rec.bytes} bytes f16`);
  }, 300_000);

  it("a corrupt merged folder: the converter's own error leads kb's message, its stderr tail follows, nothing is recorded or left behind", () => {
    const weights = path.join(merged(), 'model.safetensors');
    fs.writeFileSync(weights, fs.readFileSync(weights).subarray(0, 1000)); // truncated inside the header
    const before = registry().length;
    const out = path.join(dir, 'corrupt');
    const r = kb(['finetune', 'export', 'exp', '--format', 'gguf', '--llama-cpp', SHIM, '--out', out], { KBTEST_LLAMA_CPP_DIR: llamaDir, KBTEST_TOKENIZER_DIR: model });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith('kb: '));
    expect(lines[at]).toMatch(/^kb: llama\.cpp convert_hf_to_gguf\.py failed \(exit 1\): ValueError: Could not read complete metadata\. Need \d+ bytes, got 1000$/);
    expect(lines[at + 1]).toMatch(/^--- last \d+ lines of its stderr ---$/);
    const tail = lines.slice(at + 2).filter(Boolean);
    expect(tail.join('\n')).toMatch(/gguf\/utility\.py", line \d+, in __init__[\s\S]*raise ValueError/); // where it failed
    expect(tail.at(-1)).toBe(lines[at].replace(/^kb: .*?\(exit 1\): /, ''));
    expect(registry()).toHaveLength(before);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.gguf'))).toEqual([]);
  }, 300_000);
});

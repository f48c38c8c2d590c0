import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { checksum, listExports, recordExport } from '../registry/exports.ts';
import { insertRun, updateRun, type RunRecord } from '../runs/store.ts';
import { buildRunConfig } from '../train/run-config.ts';
import { causeLine, exportRun, resolveBaseModel } from './index.ts';
import { findLlamaCpp } from './llama-cpp.ts';
import { chatTemplateFrom, modelfile, templateFamily } from './modelfile.ts';

// Export orchestration with llama.cpp converter doubles (python scripts that write a GGUF-magic
// file and record their argv); the real merge runs in finetune/train/train-real.test.ts, the real
// converters in gguf-real.test.ts.

const CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}";
const DEEPSEEK = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '<｜User｜>' + m['content'] }}{% endif %}{% endfor %}{{ '<｜Assistant｜>' }}";
const CONVERTER = `import json, sys
out = sys.argv[sys.argv.index("--outfile") + 1]
with open(out, "wb") as f:
    f.write(b"GGUF" + json.dumps(sys.argv[1:]).encode())
`;

let dir: string;
let db: DB;
let config: Config;
let run: RunRecord;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-export-'));
  db = openStore(path.join(dir, 'kb.sqlite'));
  config = loadConfig({ env: { KB_DATA_DIR: dir } });
  const runDir = path.join(dir, 'runs', 'r1');
  const base = path.join(dir, 'base-model');
  for (const d of [runDir, base]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(base, 'tokenizer_config.json'), JSON.stringify({ chat_template: CHATML }));
  const cfg = buildRunConfig({ runName: 'r1', baseModel: base, datasetDir: dir, runDir });
  run = insertRun(db, { name: 'r1', config: cfg, path: runDir });
  const adapter = path.join(runDir, 'output', 'adapter');
  fs.mkdirSync(adapter, { recursive: true });
  fs.writeFileSync(path.join(adapter, 'adapter_config.json'), '{}');
  updateRun(db, run.id, { status: 'succeeded', adapterPath: adapter });
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function fakeLlamaCpp(): string {
  const llama = path.join(dir, 'llama.cpp');
  fs.mkdirSync(llama, { recursive: true });
  for (const f of ['convert_hf_to_gguf.py', 'convert_lora_to_gguf.py']) fs.writeFileSync(path.join(llama, f), CONVERTER);
  return llama;
}

/** A merged export already recorded (what `--format merged` leaves), with the tokenizer's template. */
async function recordedMerged(): Promise<string> {
  const merged = path.join(dir, 'runs', 'r1', 'export', 'merged');
  fs.mkdirSync(merged, { recursive: true });
  fs.writeFileSync(path.join(merged, 'model.safetensors'), 'weights');
  fs.writeFileSync(path.join(merged, 'tokenizer_config.json'), JSON.stringify({ chat_template: CHATML }));
  const sum = await checksum(merged);
  recordExport(db, { runId: run.id, adapterId: null, format: 'merged', path: merged, sha256: sum.sha256, bytes: sum.bytes, details: {} });
  return merged;
}

describe('kb finetune export', () => {
  it("GGUF without llama.cpp fails naming convert_hf_to_gguf.py and how to get it; nothing is recorded", async () => {
    const none = { PATH: '', LLAMA_CPP_DIR: '', KB_TRAINER_VENV: path.join(dir, 'no-venv') };
    await expect(exportRun(db, config, 'r1', { format: 'gguf' }, { env: none })).rejects.toThrow(/needs llama\.cpp's convert_hf_to_gguf\.py: run finetune\/train\/setup-venv\.sh.*--llama-cpp.*LLAMA_CPP_DIR.*--format merged` works without it/s);
    await expect(exportRun(db, config, 'r1', { format: 'gguf', llamaCpp: dir }, { env: none })).rejects.toThrow(new RegExp(`not found in ${dir}`));
    expect(listExports(db)).toEqual([]);
  });

  it('GGUF: converts the merged weights, writes an Ollama Modelfile with the chat template, records the checksum', async () => {
    const merged = await recordedMerged();
    const { export: e, notes } = await exportRun(db, config, 'r1', { format: 'gguf', ggufType: 'q8_0', llamaCpp: fakeLlamaCpp() }, { python: 'python3' });
    expect(e).toMatchObject({ format: 'gguf', runId: run.id, path: path.join(dir, 'runs', 'r1', 'export', 'gguf', 'r1-q8_0.gguf') });
    const bytes = fs.readFileSync(e.path);
    expect(JSON.parse(bytes.subarray(4).toString())).toEqual([merged, '--outfile', e.path, '--outtype', 'q8_0']);
    expect(e.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(e.bytes).toBe(bytes.length);
    const mf = fs.readFileSync(e.details.modelfile as string, 'utf8');
    expect(mf).toContain('FROM ./r1-q8_0.gguf');
    expect(mf).toContain('TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}');
    expect(mf).toContain('PARAMETER stop "<|im_end|>"');
    expect(mf).toContain(`PARAMETER num_ctx ${run.config.data.max_seq_len}`);
    expect(notes.join('\n')).toMatch(/ollama create r1 -f Modelfile/);
    expect(listExports(db, run.id).map((x) => x.format)).toEqual(['merged', 'gguf']);
  });

  it('adapter GGUF: converts the LoRA against the local base, Modelfile with FROM base + ADAPTER', async () => {
    const { export: e } = await exportRun(db, config, 'r1', { format: 'adapter-gguf', llamaCpp: fakeLlamaCpp(), ollamaBase: 'deepseek-r1:7b' }, { python: 'python3' });
    const argv = JSON.parse(fs.readFileSync(e.path).subarray(4).toString()) as string[];
    expect(argv).toEqual(['--base', path.join(dir, 'base-model'), '--outfile', e.path, '--outtype', 'f16', run.adapterPath ?? path.join(dir, 'runs', 'r1', 'output', 'adapter')]);
    const mf = fs.readFileSync(e.details.modelfile as string, 'utf8');
    expect(mf).toMatch(/FROM deepseek-r1:7b\nADAPTER \.\/r1-adapter-f16\.gguf/);
  });

  it('a failing converter is reported with its cause first, then its stderr tail; its partial file is removed; runs without an adapter are refused', async () => {
    const llama = fakeLlamaCpp();
    // Writes part of the output, logs, then dies of an exception, as the real converter can.
    fs.writeFileSync(
      path.join(llama, 'convert_hf_to_gguf.py'),
      'import sys\nout = sys.argv[sys.argv.index("--outfile") + 1]\nopen(out, "wb").write(b"GGUF-partial")\n' +
        'print("INFO:hf-to-gguf:Loading model: merged", file=sys.stderr)\nraise ValueError("Could not read complete metadata")\n',
    );
    await recordedMerged();
    const err = await exportRun(db, config, 'r1', { format: 'gguf', llamaCpp: llama }, { python: 'python3' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const lines = (err as Error).message.split('\n');
    expect(lines[0]).toBe('llama.cpp convert_hf_to_gguf.py failed (exit 1): ValueError: Could not read complete metadata');
    expect(lines[1]).toMatch(/^--- last \d+ lines of its stderr ---$/);
    expect(lines).toContain('INFO:hf-to-gguf:Loading model: merged');
    expect(lines.at(-1)).toBe('ValueError: Could not read complete metadata');
    expect(fs.existsSync(path.join(dir, 'runs', 'r1', 'export', 'gguf', 'r1-f16.gguf'))).toBe(false);
    expect(listExports(db, run.id).map((x) => x.format)).toEqual(['merged']);
    fs.writeFileSync(path.join(llama, 'convert_hf_to_gguf.py'), 'import sys\nprint("ERROR:hf-to-gguf:Model Qwen9ForCausalLM is not supported", file=sys.stderr)\nsys.exit(1)\n');
    await expect(exportRun(db, config, 'r1', { format: 'gguf', llamaCpp: llama }, { python: 'python3' })).rejects.toThrow(/^llama\.cpp convert_hf_to_gguf\.py failed \(exit 1\): ERROR:hf-to-gguf:Model Qwen9ForCausalLM is not supported\n/);
    updateRun(db, run.id, { status: 'failed' });
    await expect(exportRun(db, config, 'r1', { format: 'merged' })).rejects.toThrow(/no trained adapter \(status failed\)/);
  });

  it('finds llama.cpp by flag, then LLAMA_CPP_DIR, then the trainer venv\'s copy, then the PATH', () => {
    const llama = fakeLlamaCpp();
    const venv = path.join(dir, 'venv');
    const venvCopy = path.join(venv, 'llama.cpp');
    fs.cpSync(llama, venvCopy, { recursive: true });
    fs.writeFileSync(path.join(venvCopy, 'SOURCE'), 'llama-cpp-python==0.3.36 sha256:abc\nllama.cpp 0c1e570: ...\n');
    const noVenv = path.join(dir, 'no-venv');
    expect(findLlamaCpp(llama, { KB_TRAINER_VENV: venv })).toMatchObject({ convertHf: path.join(llama, 'convert_hf_to_gguf.py'), via: '--llama-cpp', source: null });
    expect(findLlamaCpp(undefined, { LLAMA_CPP_DIR: llama, KB_TRAINER_VENV: venv })).toMatchObject({ dir: llama, via: 'LLAMA_CPP_DIR' });
    expect(findLlamaCpp(undefined, { KB_TRAINER_VENV: venv, PATH: llama })).toMatchObject({ dir: venvCopy, via: 'trainer venv', source: 'llama-cpp-python==0.3.36 sha256:abc', convertLora: path.join(venvCopy, 'convert_lora_to_gguf.py') });
    expect(findLlamaCpp(undefined, { KB_TRAINER_VENV: noVenv, PATH: `/nonexistent${path.delimiter}${llama}` })).toMatchObject({ dir: llama, via: 'PATH' });
    // An explicit folder without the converter is an error, not a hint to look elsewhere.
    expect(findLlamaCpp(path.join(dir, 'nope'), { LLAMA_CPP_DIR: llama, KB_TRAINER_VENV: venv })).toBeNull();
    expect(findLlamaCpp(undefined, { KB_TRAINER_VENV: noVenv, PATH: '' })).toBeNull();
  });

  it("setup-venv.sh's switch KB_TRAINER_LLAMA_CPP is not taken for a kb configuration key", () => {
    expect(() => loadConfig({ env: { KB_DATA_DIR: dir, KB_TRAINER_LLAMA_CPP: '0' } })).not.toThrow();
  });

  it('picks the cause out of a Python stderr: the exception a traceback ends with, or a logged ERROR', () => {
    const traceback = ['INFO:hf-to-gguf:Loading model: m', 'Traceback (most recent call last):', '  File "x.py", line 1, in <module>', '    raise NotImplementedError("BPE pre-tokenizer was not recognized")', 'NotImplementedError: BPE pre-tokenizer was not recognized'];
    expect(causeLine(traceback)).toBe('NotImplementedError: BPE pre-tokenizer was not recognized');
    expect(causeLine([...traceback.slice(0, -1), 'json.decoder.JSONDecodeError: Expecting value: line 2 column 1 (char 56)'])).toBe('json.decoder.JSONDecodeError: Expecting value: line 2 column 1 (char 56)');
    expect(causeLine(['ERROR:lora-to-gguf:Model Foo is not supported', 'INFO:done'])).toBe('ERROR:lora-to-gguf:Model Foo is not supported');
    expect(causeLine(['KeyboardInterrupt'])).toBe('KeyboardInterrupt');
    expect(causeLine(['INFO:hf-to-gguf:writing', 'Writing: 100%'])).toBeNull();
    expect(causeLine([])).toBeNull();
  });

  it('recognises ChatML and DeepSeek templates (chat_template.jinja first) and refuses to guess others', () => {
    expect(templateFamily(CHATML)).toBe('chatml');
    expect(templateFamily(DEEPSEEK)).toBe('deepseek');
    const d = path.join(dir, 'tok');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'tokenizer_config.json'), JSON.stringify({ chat_template: CHATML }));
    fs.writeFileSync(path.join(d, 'chat_template.jinja'), DEEPSEEK);
    const t = chatTemplateFrom([d]);
    expect(t.family).toBe('deepseek');
    const mf = modelfile({ from: './m.gguf', template: t, system: 'Answer from the sources.' });
    expect(mf).toContain('<｜Assistant｜>');
    expect(mf).toContain('PARAMETER stop "<｜end▁of▁sentence｜>"');
    expect(mf).toContain('SYSTEM """Answer from the sources."""');
    fs.writeFileSync(path.join(d, 'chat_template.jinja'), '[INST] {{ messages[0].content }} [/INST]');
    expect(() => chatTemplateFrom([d])).toThrow(/unknown family.*by hand/);
    expect(() => chatTemplateFrom([path.join(dir, 'empty')])).toThrow(/no chat template/);
  });

  it('checksums a folder by its files, so any changed file changes it', async () => {
    const merged = await recordedMerged();
    const a = await checksum(merged);
    expect(Object.keys(a.files!)).toEqual(['model.safetensors', 'tokenizer_config.json']);
    expect((await checksum(merged)).sha256).toBe(a.sha256);
    fs.writeFileSync(path.join(merged, 'model.safetensors'), 'weights2');
    expect((await checksum(merged)).sha256).not.toBe(a.sha256);
  });

  it('resolves a relative base model against the run folder, like train_lora.py', () => {
    expect(resolveBaseModel({ ...run, config: { ...run.config, base_model: './m' } })).toBe(path.join(run.path, 'm'));
    expect(resolveBaseModel({ ...run, config: { ...run.config, base_model: 'org/name' } })).toBe('org/name');
  });
});

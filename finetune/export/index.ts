import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import type { Config } from '../../src/config/index.ts';
import type { DB } from '../../src/store/index.ts';
import { adapterForRun } from '../registry/index.ts';
import { checksum, listExports, recordExport, type ExportFormat, type ExportRecord } from '../registry/exports.ts';
import { launcherFor } from '../runs/service.ts';
import { requireRun, type RunRecord } from '../runs/store.ts';
import { findLlamaCpp, missingLlamaCppMessage, type LlamaCpp } from './llama-cpp.ts';
import { chatTemplateFrom, modelfile } from './modelfile.ts';

// `kb finetune export RUN --format merged|gguf|adapter-gguf`:
//   merged        the adapter merged into 16-bit base weights (finetune/train/export.py) — vLLM
//                 and TGI serve it without runtime LoRA;
//   gguf          the merged weights converted by llama.cpp's convert_hf_to_gguf.py, plus an
//                 Ollama Modelfile carrying the chat template — Ollama / llama.cpp;
//   adapter-gguf  the LoRA alone converted by convert_lora_to_gguf.py (llama.cpp --lora, Ollama
//                 ADAPTER on top of the base model's GGUF).
// Every export is recorded in the registry with its checksum.

export const EXPORT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'train', 'export.py');
export const FORMATS: ExportFormat[] = ['merged', 'gguf', 'adapter-gguf'];
/** llama.cpp converter --outtype values (quantisations beyond q8_0 are llama-quantize's job). */
export const GGUF_TYPES = ['f16', 'bf16', 'q8_0', 'f32', 'auto'] as const;

export interface ExportRequest {
  format: ExportFormat;
  /** Default <run folder>/export/<format>. */
  outDir?: string;
  dtype?: 'bf16' | 'fp16';
  ggufType?: (typeof GGUF_TYPES)[number];
  llamaCpp?: string;
  /** adapter-gguf: the Ollama model the adapter is applied to (Modelfile FROM). */
  ollamaBase?: string;
  system?: string;
}

export interface ExportHooks {
  python?: string;
  env?: NodeJS.ProcessEnv;
  onText?(line: string): void;
}

/** The base weights as train_lora.py resolved them: paths are relative to the run's run.json. */
export function resolveBaseModel(run: RunRecord): string {
  const name = run.config.base_model;
  if (/^[.~/]/.test(name)) return path.resolve(run.path, name.replace(/^~(?=$|\/)/, process.env.HOME ?? '~'));
  const nearby = path.join(run.path, name);
  return fs.existsSync(nearby) ? nearby : name;
}

interface ProcResult {
  code: number | null;
  events: Record<string, unknown>[];
  stderr: string[];
}

function runTool(python: string, argv: string[], hooks: ExportHooks): Promise<ProcResult> {
  return new Promise((resolve) => {
    const child = spawn(python, argv, { env: { ...process.env, PYTHONUNBUFFERED: '1', ...hooks.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Record<string, unknown>[] = [];
    const stderr: string[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) {
        try {
          const ev = JSON.parse(line) as Record<string, unknown>;
          if (typeof ev.event === 'string') return void events.push(ev);
        } catch {
          /* plain text */
        }
      }
      hooks.onText?.(line);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 30) stderr.shift();
      hooks.onText?.(line);
    });
    child.once('error', (e) => resolve({ code: null, events, stderr: [e.message] }));
    child.once('close', (code) => resolve({ code, events, stderr }));
  });
}

/** The line of a Python tool's stderr that names the cause: a traceback's exception or a logged ERROR. */
export function causeLine(stderr: string[]): string | null {
  for (let i = stderr.length - 1; i >= 0; i--) {
    const l = stderr[i].trim();
    if (/^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)(:|$)/.test(l) || /^(ERROR|CRITICAL)\b/.test(l)) return l;
  }
  return null;
}

// The first line says what failed and why (the exception the tool died of), so the operator
// does not have to dig through a traceback; the tail of its stderr follows for context.
function failure(what: string, r: ProcResult): Error {
  const ev = r.events.find((e) => e.event === 'error');
  const cause = ev ? `${String(ev.kind)}: ${String(ev.message)}` : causeLine(r.stderr);
  const head = `${what} failed (exit ${r.code ?? 'not started'})${cause ? `: ${cause}` : ''}`;
  const tail = r.stderr.slice(-15);
  return new Error(tail.length ? `${head}\n--- last ${tail.length} lines of its stderr ---\n${tail.join('\n')}` : head);
}

/** Runs a llama.cpp converter; a failed run leaves no half-written GGUF behind. */
async function convert(python: string, script: string, argv: string[], file: string, hooks: ExportHooks): Promise<void> {
  fs.rmSync(file, { force: true });
  const r = await runTool(python, [script, ...argv], hooks);
  if (r.code === 0 && fs.existsSync(file)) return;
  fs.rmSync(file, { force: true });
  throw failure(`llama.cpp ${path.basename(script)}`, r);
}

async function record(db: DB, run: RunRecord, format: ExportFormat, target: string, details: Record<string, unknown>): Promise<ExportRecord> {
  const sum = await checksum(target);
  return recordExport(db, { runId: run.id, adapterId: adapterForRun(db, run.id)?.id ?? null, format, path: target, sha256: sum.sha256, bytes: sum.bytes, details: { ...details, ...(sum.files ? { files: sum.files } : {}) } });
}

async function exportMerged(db: DB, run: RunRecord, outDir: string, req: ExportRequest, python: string, hooks: ExportHooks): Promise<ExportRecord> {
  const dtype = req.dtype ?? 'bf16';
  const argv = [EXPORT_SCRIPT, '--adapter', run.adapterPath!, '--base', resolveBaseModel(run), '--out', outDir, '--dtype', dtype, ...(run.config.trust_remote_code ? ['--trust-remote-code'] : [])];
  const r = await runTool(python, argv, hooks);
  const merged = r.events.find((e) => e.event === 'merged');
  if (r.code !== 0 || !merged) throw failure('merging the adapter (finetune/train/export.py)', r);
  return record(db, run, 'merged', outDir, { dtype, params: merged.params, base_model: run.config.base_model, serve: 'vLLM/TGI: --model <path> (no --enable-lora needed)' });
}

/** The run's merged weights: the latest recorded merged export still on disk, else a new one. */
async function mergedFor(db: DB, run: RunRecord, req: ExportRequest, python: string, hooks: ExportHooks): Promise<ExportRecord> {
  const existing = listExports(db, run.id).filter((e) => e.format === 'merged' && fs.existsSync(e.path)).at(-1);
  if (existing) return existing;
  return exportMerged(db, run, path.join(run.path, 'export', 'merged'), req, python, hooks);
}

/** Which converter made the file, for the registry: where it was found and, for the venv's pinned copy, its origin. */
const converterDetails = (l: LlamaCpp) => ({ converter_via: l.via, ...(l.source ? { converter_source: l.source } : {}) });

export async function exportRun(db: DB, config: Config, ref: string, req: ExportRequest, hooks: ExportHooks = {}): Promise<{ export: ExportRecord; notes: string[] }> {
  const run = requireRun(db, ref);
  if (run.status !== 'succeeded' || !run.adapterPath) throw new Error(`run "${run.name}" has no trained adapter (status ${run.status})`);
  if (!FORMATS.includes(req.format)) throw new Error(`--format: one of ${FORMATS.join(', ')}`);
  const python = hooks.python ?? launcherFor(config).python;
  const outDir = path.resolve(req.outDir ?? path.join(run.path, 'export', req.format));
  const notes: string[] = [];
  if (req.format === 'merged') return { export: await exportMerged(db, run, outDir, req, python, hooks), notes };

  // GGUF: check the converter before spending minutes on a merge.
  const llama = findLlamaCpp(req.llamaCpp, { ...process.env, ...hooks.env });
  if (!llama) throw new Error(missingLlamaCppMessage(req.llamaCpp));
  const outtype = req.ggufType ?? 'f16';
  fs.mkdirSync(outDir, { recursive: true });
  if (req.format === 'gguf') {
    const merged = await mergedFor(db, run, req, python, hooks);
    const file = path.join(outDir, `${run.name}-${outtype}.gguf`);
    await convert(python, llama.convertHf, [merged.path, '--outfile', file, '--outtype', outtype], file, hooks);
    const template = chatTemplateFrom([merged.path]);
    const mf = path.join(outDir, 'Modelfile');
    fs.writeFileSync(mf, modelfile({ from: `./${path.basename(file)}`, template, system: req.system, numCtx: run.config.data.max_seq_len }));
    notes.push(`Ollama: cd ${outDir} && ollama create ${run.name} -f Modelfile`, `llama.cpp: llama-server -m ${file}`);
    return { export: await record(db, run, 'gguf', file, { outtype, converter: llama.convertHf, ...converterDetails(llama), merged_from: merged.path, modelfile: mf, template_family: template.family }), notes };
  }
  const base = resolveBaseModel(run);
  if (!fs.existsSync(base)) throw new Error(`adapter-gguf needs the base model as a local folder (convert_lora_to_gguf.py reads its config); "${base}" is not one — download it and set finetune_runs.base_model_path`);
  const file = path.join(outDir, `${run.name}-adapter-${outtype}.gguf`);
  await convert(python, llama.convertLora, ['--base', base, '--outfile', file, '--outtype', outtype, run.adapterPath], file, hooks);
  let mf: string | null = null;
  if (req.ollamaBase) {
    mf = path.join(outDir, 'Modelfile');
    fs.writeFileSync(mf, modelfile({ from: req.ollamaBase, adapter: `./${path.basename(file)}`, template: chatTemplateFrom([run.adapterPath, base]), system: req.system }));
    notes.push(`Ollama: cd ${outDir} && ollama create ${run.name} -f Modelfile`);
  } else notes.push('no Modelfile: pass --ollama-base <ollama model of the same base weights> to write one');
  notes.push(`llama.cpp: llama-server -m <base model .gguf> --lora ${file}`);
  return { export: await record(db, run, 'adapter-gguf', file, { outtype, converter: llama.convertLora, ...converterDetails(llama), base_model: base, modelfile: mf }), notes };
}

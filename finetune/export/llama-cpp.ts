import fs from 'node:fs';
import path from 'node:path';
import { SETUP_COMMAND, trainerVenv } from '../train/venv.ts';

// llama.cpp's converters (convert_hf_to_gguf.py, convert_lora_to_gguf.py) are scripts in a
// llama.cpp tree, not an installable library. finetune/train/setup-venv.sh puts a pinned copy
// (from the llama.cpp tree that PyPI's llama-cpp-python sdist vendors) into the trainer venv's
// llama.cpp/ folder, so every machine with the trainer environment can export GGUF. A GPU host
// with its own llama.cpp checkout points at it with --llama-cpp DIR or $LLAMA_CPP_DIR, which
// win over the venv's copy; the PATH is the last resort.

export const CONVERT_HF = 'convert_hf_to_gguf.py';
export const CONVERT_LORA = 'convert_lora_to_gguf.py';
/** Written by setup-venv.sh beside the converters: where they came from (first line: the pin). */
export const SOURCE_FILE = 'SOURCE';

export type LlamaCppVia = '--llama-cpp' | 'LLAMA_CPP_DIR' | 'trainer venv' | 'PATH';

export interface LlamaCpp {
  dir: string;
  convertHf: string;
  convertLora: string;
  via: LlamaCppVia;
  /** The SOURCE file's first line when the folder has one (the venv's pinned copy does). */
  source: string | null;
}

/** The venv's copy of the converters (setup-venv.sh), whether or not it is installed. */
export function venvLlamaCppDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(trainerVenv(env), 'llama.cpp');
}

export function findLlamaCpp(explicit?: string, env: NodeJS.ProcessEnv = process.env): LlamaCpp | null {
  const candidates: [string | undefined, LlamaCppVia][] = [
    [explicit, '--llama-cpp'],
    [env.LLAMA_CPP_DIR, 'LLAMA_CPP_DIR'],
    [venvLlamaCppDir(env), 'trainer venv'],
    ...(env.PATH ?? '').split(path.delimiter).map((d): [string, LlamaCppVia] => [d, 'PATH']),
  ];
  for (const [dir, via] of candidates) {
    if (!dir) continue;
    const convertHf = path.join(dir, CONVERT_HF);
    if (fs.existsSync(convertHf)) return { dir: path.resolve(dir), convertHf: path.resolve(convertHf), convertLora: path.resolve(dir, CONVERT_LORA), via, source: readSource(dir) };
    if (via === '--llama-cpp') break; // an explicit folder without the converter is an error, not a hint to look elsewhere
  }
  return null;
}

function readSource(dir: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, SOURCE_FILE), 'utf8').split('\n')[0].trim() || null;
  } catch {
    return null;
  }
}

export function missingLlamaCppMessage(explicit?: string): string {
  return (
    `GGUF export needs llama.cpp's ${CONVERT_HF}${explicit ? ` (not found in ${explicit})` : ''}: run ${SETUP_COMMAND}, ` +
    'which puts a pinned copy into the trainer environment, or point --llama-cpp <folder> or LLAMA_CPP_DIR at a llama.cpp checkout ' +
    '(`git clone https://github.com/ggml-org/llama.cpp`; it runs with the trainer environment as it is). ' +
    '`kb finetune export RUN --format merged` works without it (vLLM/TGI serve the merged weights directly).'
  );
}

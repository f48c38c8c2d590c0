import fs from 'node:fs';
import path from 'node:path';

// llama.cpp's converters (convert_hf_to_gguf.py, convert_lora_to_gguf.py) are not a library we
// can install from here: they live in a llama.cpp checkout on the GPU host. Found via
// --llama-cpp DIR, else $LLAMA_CPP_DIR, else the PATH.

export const CONVERT_HF = 'convert_hf_to_gguf.py';
export const CONVERT_LORA = 'convert_lora_to_gguf.py';

export interface LlamaCpp {
  dir: string;
  convertHf: string;
  convertLora: string;
}

export function findLlamaCpp(explicit?: string, env: NodeJS.ProcessEnv = process.env): LlamaCpp | null {
  const candidates = [explicit, env.LLAMA_CPP_DIR, ...(env.PATH ?? '').split(path.delimiter)].filter((d): d is string => !!d);
  for (const dir of candidates) {
    const convertHf = path.join(dir, CONVERT_HF);
    if (fs.existsSync(convertHf)) return { dir: path.resolve(dir), convertHf: path.resolve(convertHf), convertLora: path.resolve(dir, CONVERT_LORA) };
    if (dir === explicit) break; // an explicit folder without the converter is an error, not a hint to look elsewhere
  }
  return null;
}

export function missingLlamaCppMessage(explicit?: string): string {
  return (
    `GGUF export needs llama.cpp's ${CONVERT_HF}${explicit ? ` (not found in ${explicit})` : ''}: on the GPU host, ` +
    '`git clone https://github.com/ggml-org/llama.cpp && pip install -r llama.cpp/requirements/requirements-convert_hf_to_gguf.txt` ' +
    'into the trainer environment, then pass --llama-cpp <llama.cpp folder> or set LLAMA_CPP_DIR. ' +
    '`kb finetune export RUN --format merged` works without it (vLLM/TGI serve the merged weights directly).'
  );
}

import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/config/index.ts';

// The trainer's Python: the project's virtual environment (finetune/train/setup-venv.sh) when it
// exists, else whatever `python3` is on the PATH (a GPU host with its own CUDA stack).

export const SETUP_COMMAND = 'finetune/train/setup-venv.sh';

/** Where setup-venv.sh puts the environment (KB_TRAINER_VENV overrides, as there). */
export function trainerVenv(env: NodeJS.ProcessEnv = process.env): string {
  return env.KB_TRAINER_VENV || path.join(projectRoot, '.venv-trainer');
}

/** The venv's interpreter, or null when the environment has not been set up. */
export function venvPython(env: NodeJS.ProcessEnv = process.env): string | null {
  const bin = path.join(trainerVenv(env), 'bin', 'python');
  // The stamp is written last by setup-venv.sh: without it the install did not finish.
  return fs.existsSync(bin) && fs.existsSync(path.join(trainerVenv(env), '.requirements.sha256')) ? bin : null;
}

/** `finetune_runs.python`: "auto" = the project's venv when set up, else python3. */
export function resolveTrainerPython(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured !== 'auto') return configured;
  return venvPython(env) ?? 'python3';
}

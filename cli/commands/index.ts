import type { Command } from 'commander';
import { register as registerIngest } from './ingest.ts';
import { register as registerStatus } from './status.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerSearch } from './search.ts';
import { register as registerEval } from './eval.ts';
import { register as registerKeys } from './keys.ts';
import { register as registerServe } from './serve.ts';
import { register as registerCore } from './core.ts';
import { register as registerFinetune } from './finetune.ts';
import { register as registerFinetuneRuns } from './finetune-runs.ts';
import { register as registerDenseIndex } from './dense-index.ts';
import { register as registerSnapshot } from './snapshot.ts';
import { register as registerBm25 } from './bm25.ts';

// Each command module exports `register(program)`. Add one import + one call per module.

export function registerCommands(program: Command): void {
  registerIngest(program);
  registerStatus(program);
  registerDemo(program);
  registerSearch(program);
  registerEval(program);
  registerKeys(program);
  registerServe(program);
  registerCore(program);
  registerFinetune(program);
  // After any module that creates the `finetune` group (finetune.ts): it adds to that group.
  registerFinetuneRuns(program);
  registerDenseIndex(program);
  registerSnapshot(program);
  registerBm25(program);
}

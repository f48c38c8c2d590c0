import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';

// `kb … | head -1`: the reader closes the pipe early; kb must stop quietly, not print an EPIPE trace.

function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-pipe-'));
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), ...args], {
    env: { ...process.env, KB_DATA_DIR: dataDir, KB_LOG__LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Close our end at once, as `head -1` does after its line: every write kb makes hits EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('kb output into a closed pipe', () => {
  it.each([[['finetune', 'plan', '--list']], [['finetune', 'plan', '--model', 'deepseek-r1-distill-qwen-7b', '--method', 'lora', '--gpu', 'a100-80g']]])(
    'kb %j exits 0 without a stack trace',
    async (args) => {
      const r = await runWithClosedStdout(args);
      expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
      expect(r.code).toBe(0);
    },
  );
});

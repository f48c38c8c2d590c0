import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';

// Every README example that talks to the server runs as written (only the port differs): each
// ```ts block, and every `curl` command of the ```bash blocks. A block preceded by the comment
// <!-- snippet: skip --> is illustrative only. The server is a real `kb serve` on a small demo
// world with no model server (chat answers extractively), as a new user's first start.

interface Snippet {
  lang: string;
  code: string;
  line: number;
}

function readmeSnippets(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const re = /(<!-- snippet: skip -->\s*\n)?^```(\w*)[^\n]*\n([\s\S]*?)^```\s*$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    if (m[1]) continue;
    out.push({ lang: m[2], code: m[3], line: markdown.slice(0, m.index).split('\n').length });
  }
  return out;
}

/**
 * `curl …` commands of a bash block that talk to a local `kb serve` on the default port, with
 * backslash continuations joined (examples for other hosts — a cluster, a container — cannot run here).
 */
function curlCommands(bash: string): string[] {
  return bash
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('curl ') && /(localhost|127\.0\.0\.1):8080\//.test(l));
}

const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const snippets = readmeSnippets(readme);
const tsBlocks = snippets.filter((s) => s.lang === 'ts' || s.lang === 'typescript');
const curls = snippets.filter((s) => s.lang === 'bash' || s.lang === 'sh').flatMap((s) => curlCommands(s.code).map((c) => ({ ...s, code: c })));

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-readme-'));
// Inside the project so the snippets' imports ('openai') resolve from its node_modules.
const scratch = path.join(projectRoot, '.vitest-tmp', `readme-${process.pid}`);
let port = 0;
let child: ReturnType<typeof spawn> | null = null;
let stderr = '';

const withPort = (code: string) => code.replace(/(localhost|127\.0\.0\.1):8080/g, `127.0.0.1:${port}`);

beforeAll(async () => {
  port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  child = spawn(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), 'serve'], {
    env: { ...process.env, KB_DATA_DIR: dataDir, PORT: String(port), KB_EMBEDDING__ALLOW_REMOTE: 'false', KB_DEMO__DOCS: '60', KB_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const end = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > end || child.exitCode !== null) throw new Error(`server not ready; stderr:\n${stderr.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  fs.mkdirSync(scratch, { recursive: true });
}, 150_000);

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

if (spawnSync('curl', ['--version']).status !== 0) console.warn('README curl examples skipped: curl is not installed (apt-get install curl)');

describe('README snippets', () => {
  it('the README has examples to run (the extraction works)', () => {
    expect(tsBlocks.length).toBeGreaterThan(0);
    expect(curls.length).toBeGreaterThan(0);
  });

  it.each(tsBlocks.map((s) => [s.line, s] as const))('the TypeScript example at README.md:%i runs as written', (_line, s) => {
    const file = path.join(scratch, `snippet-${s.line}.mts`);
    fs.writeFileSync(file, withPort(s.code));
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, KB_API_KEY: '' } });
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });

  const hasCurl = spawnSync('curl', ['--version']).status === 0;
  it.skipIf(!hasCurl).each(curls.map((s) => [s.line, s.code] as const))('the curl example in the block at README.md:%i runs as written', (_line, cmd) => {
    const r = spawnSync('bash', ['-c', `${withPort(cmd)} --fail-with-body --max-time 60`], { encoding: 'utf8', timeout: 70_000 });
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../cli/main.ts';
import { DEFAULT_DATA_FILES, loadConfig, projectRoot, type Config } from '../../src/config/index.ts';

// What the deployment files must agree with: the app's real routes, CLI commands and config keys.

export const repo = (...p: string[]) => path.join(projectRoot, ...p);

/** Paths of every GET/POST route the server defines (serve/routes/*.ts), e.g. "/healthz". */
export function serverRoutes(): Set<string> {
  const out = new Set<string>();
  for (const f of fs.readdirSync(repo('serve/routes'))) {
    const src = fs.readFileSync(repo('serve/routes', f), 'utf8');
    for (const m of src.matchAll(/\br\.(get|post|put|delete)\(\s*'([^']+)'/g)) out.add(m[2]);
  }
  return out;
}

/**
 * Checks that `argv` (what follows `kb`) names a real command and only real long options of it;
 * returns the command path, e.g. "finetune schedule". Throws naming what is unknown.
 */
export function checkKbArgs(argv: string[]): string {
  let cmd: Command = buildProgram();
  const names: string[] = [];
  let i = 0;
  for (; i < argv.length && !argv[i].startsWith('-'); i++) {
    const sub = cmd.commands.find((c) => c.name() === argv[i]);
    if (!sub) {
      if (names.length === 0 || cmd.commands.length > 0) throw new Error(`kb ${[...names, argv[i]].join(' ')}: no such command`);
      break; // a positional argument
    }
    cmd = sub;
    names.push(argv[i]);
  }
  if (names.length === 0) throw new Error(`kb ${argv.join(' ')}: no command`);
  const longs = new Set(cmd.options.map((o) => o.long).filter((l): l is string => !!l));
  for (const a of argv.slice(i)) {
    if (!a.startsWith('--')) continue;
    const flag = a.split('=')[0];
    if (!longs.has(flag)) throw new Error(`kb ${names.join(' ')}: unknown option ${flag}`);
  }
  return names.join(' ');
}

/** Validates config/default.yaml (with the data files beside it) < localYaml < env exactly as the app does at start. */
export function configWith(localYaml: string | null, env: Record<string, string>): Config {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-deploy-config-'));
  try {
    for (const f of ['default.yaml', ...DEFAULT_DATA_FILES]) fs.copyFileSync(repo(`config/${f}`), path.join(dir, f));
    if (localYaml !== null) fs.writeFileSync(path.join(dir, 'local.yaml'), localYaml);
    return loadConfig({ configDir: dir, env });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves ${VAR}, ${VAR:-default} and ${VAR-default} as docker compose does. */
export function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (_m, name: string, op: string | undefined, def: string | undefined) => {
    const v = vars[name];
    if (op === ':-') return v ? v : (def ?? '');
    if (op === '-') return v !== undefined ? v : (def ?? '');
    return v ?? '';
  });
}

/** KEY=VALUE lines of an env file (comments and blanks skipped). */
export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq > 0) out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

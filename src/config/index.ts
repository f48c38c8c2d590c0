import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { z } from 'zod';
import { knownKeysAt } from './known-keys.ts';
import { configSchema, type Config } from './schema.ts';
import { closestKey } from './suggest.ts';

export type { Config, SourceConfig, DocumentKind } from './schema.ts';
export { documentKinds } from './schema.ts';

/** Project root: the folder holding package.json and config/. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Folder holding default.yaml, the DEFAULT_DATA_FILES and local.yaml (default: <root>/config). */
  configDir?: string;
  /** Environment to read KB_* / PORT from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Extra overrides applied last (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;

function isPlainObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where objects merge key by key and everything else (arrays included) replaces. */
export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Tree, v) : v;
  }
  return out;
}

function readYaml(file: string): Tree {
  if (!fs.existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: invalid YAML: ${(err as Error).message}`);
  }
  if (parsed == null) return {};
  if (!isPlainObject(parsed)) throw new ConfigError(`${file}: top level must be a mapping`);
  return parsed;
}

/**
 * KB_* variables that are not configuration keys: shortcuts and tool switches. Every other KB_*
 * variable is a configuration override and must name a real key (a misspelt one is an error, not
 * silently ignored). Add a name here when a tool reads its own KB_ variable.
 */
export const NON_CONFIG_ENV: Readonly<Record<string, string>> = {
  KB_DATA_DIR: 'shortcut for data_dir',
  KB_LOG_LEVEL: 'shortcut for log.level (KB_LOG__LEVEL wins when both are set)',
  KB_DEBUG: 'the kb CLI prints stack traces',
  KB_PYTHON: 'python interpreter for the trainer tests',
  KB_LOG_FORMAT: 'shortcut for log.format (auto | json | pretty)',
  KB_API_KEY: "a client's API key (the README's examples read it); the server ignores it",
  KB_TRAINER_VENV: "the trainer's virtual environment folder (finetune/train/setup-venv.sh)",
  KB_TRAINER_PYTHON: 'python used to create the trainer environment',
  KB_TRAINER_LLAMA_CPP: "0: setup-venv.sh leaves out llama.cpp's GGUF converters",
};

/** Parses an env value as a YAML scalar (numbers, booleans, JSON-ish lists); else the raw string. */
function envValue(raw: string): unknown {
  let value: unknown = raw;
  try {
    value = YAML.parse(raw);
  } catch {
    /* keep the raw string */
  }
  return value === null ? raw : value;
}

/** The configuration path a KB_A__B_C variable sets (["a", "b_c"]), or null for the non-config ones. */
export function envKeyPath(name: string): string[] | null {
  if (!name.startsWith('KB_') || name in NON_CONFIG_ENV) return null;
  return name.slice(3).toLowerCase().split('__');
}

/** KB_A__B_C=v → { a: { b_c: v } }; KB_DATA_DIR, KB_LOG_LEVEL and PORT are shortcuts. */
export function envOverrides(env: NodeJS.ProcessEnv): Tree {
  let out: Tree = {};
  const set = (keyPath: string[], raw: string) => {
    let node: Tree = {};
    const leaf = node;
    keyPath.slice(0, -1).forEach((k) => {
      const next: Tree = {};
      node[k] = next;
      node = next;
    });
    node[keyPath[keyPath.length - 1]] = envValue(raw);
    out = deepMerge(out, leaf);
  };
  // The documented shortcut first, so the generic KB_LOG__LEVEL overrides it.
  if (env.KB_LOG_LEVEL) set(['log', 'level'], env.KB_LOG_LEVEL);
  if (env.KB_LOG_FORMAT) set(['log', 'format'], env.KB_LOG_FORMAT);
  for (const [name, raw] of Object.entries(env)) {
    const keyPath = raw === undefined ? null : envKeyPath(name);
    if (keyPath) set(keyPath, raw!);
  }
  if (env.KB_DATA_DIR) out = deepMerge(out, { data_dir: env.KB_DATA_DIR });
  if (env.PORT) out = deepMerge(out, { server: { port: Number(env.PORT) } });
  return out;
}

/** Env variables whose key path starts with `path` (to name them in an error). */
function envVarsUnder(env: NodeJS.ProcessEnv, path: string[]): string[] {
  const prefix = path.join('.');
  return Object.keys(env)
    .filter((name) => env[name] !== undefined)
    .filter((name) => {
      const p = envKeyPath(name)?.join('.');
      return p !== undefined && (p === prefix || p.startsWith(`${prefix}.`));
    })
    .sort();
}

/** A configuration file's parsed tree, to say which file a bad key came from. */
export interface ConfigFile {
  file: string;
  tree: Tree;
}

function hasPath(tree: unknown, keyPath: readonly string[]): boolean {
  let cur: unknown = tree;
  for (const k of keyPath) {
    if (typeof cur !== 'object' || cur === null || !Object.prototype.hasOwnProperty.call(cur, k)) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  return true;
}

/** Where a key's value came from: the KB_* variables that set it, else the last file holding it. */
function origin(keyPath: string[], env: NodeJS.ProcessEnv, files: ConfigFile[]): string {
  if (keyPath.length === 0) return '';
  const vars = envVarsUnder(env, keyPath);
  if (vars.length > 0) return ` (set by ${vars.join(', ')})`;
  const file = [...files].reverse().find((f) => hasPath(f.tree, keyPath));
  return file ? ` (in ${file.file})` : '';
}

/** One line per validation issue; unknown keys name their origin and the closest real key. */
function describeIssues(issues: z.core.$ZodIssue[], env: NodeJS.ProcessEnv, files: ConfigFile[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String);
    if (issue.code !== 'unrecognized_keys') {
      lines.push(`  ${at.join('.') || '(root)'}: ${issue.message}${origin(at, env, files)}`);
      continue;
    }
    const known = knownKeysAt(configSchema, issue.path);
    for (const key of issue.keys) {
      const full = [...at, key];
      const guess = closestKey(key, known);
      const vars = envVarsUnder(env, full);
      let line = `  ${full.join('.')}: unknown key${origin(full, env, files)}`;
      if (guess) {
        const right = [...at, guess];
        line += vars.length > 0 ? `; did you mean ${vars.map((v) => `KB_${right.map((s) => s.toUpperCase()).join('__')}${v.slice(3 + full.join('__').length)}`).join(', ')} (${right.join('.')})?` : `; did you mean "${right.join('.')}"?`;
      } else if (known.length > 0) {
        line += `; known keys here: ${known.join(', ')}`;
      }
      lines.push(line);
    }
  }
  return lines;
}

/**
 * Data shipped with the defaults, kept out of default.yaml so that file stays about settings:
 * the core-record schema and the fine-tune question templates. Loaded first, in this order, then
 * default.yaml and local.yaml merge over them (so local.yaml overrides them like any key).
 */
export const DEFAULT_DATA_FILES = ['core-schema.yaml', 'finetune-templates.yaml'] as const;

/** Loads the data files < default.yaml < local.yaml < KB_* env < overrides, validates, resolves data_dir. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const dir = opts.configDir ?? path.join(projectRoot, 'config');
  const env = opts.env ?? process.env;
  const files: ConfigFile[] = [...DEFAULT_DATA_FILES, 'default.yaml', 'local.yaml'].map((name) => ({ file: path.join(dir, name), tree: readYaml(path.join(dir, name)) }));
  for (const f of files.slice(0, -1)) if (Object.keys(f.tree).length === 0) throw new ConfigError(`${f.file} is missing or empty`);
  let tree = files.reduce<Tree>((acc, f) => deepMerge(acc, f.tree), {});
  tree = deepMerge(tree, envOverrides(env));
  if (opts.overrides) tree = deepMerge(tree, opts.overrides);
  return parseConfig(tree, env, files);
}

/**
 * Validates a merged configuration tree. `env` and `files` only serve the error message: they
 * name the KB_* variable or the file behind a bad key.
 */
export function parseConfig(tree: Tree, env: NodeJS.ProcessEnv = {}, files: ConfigFile[] = []): Config {
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues, env, files);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  config.data_dir = path.resolve(projectRoot, config.data_dir);
  return config;
}

/** Resolves a path from config relative to the data folder. */
export function dataPath(config: Config, ...parts: string[]): string {
  return path.resolve(config.data_dir, ...parts);
}

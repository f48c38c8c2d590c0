import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { configSchema, type Config } from './schema.ts';

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
  /** Folder holding default.yaml and local.yaml (default: <root>/config). */
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

/** KB_A__B_C=v → { a: { b_c: v } }; KB_DATA_DIR and PORT are shortcuts. */
export function envOverrides(env: NodeJS.ProcessEnv): Tree {
  let out: Tree = {};
  const set = (keyPath: string[], raw: string) => {
    let value: unknown = raw;
    try {
      value = YAML.parse(raw);
    } catch {
      /* keep the raw string */
    }
    if (value === null) value = raw;
    let node: Tree = {};
    const leaf = node;
    keyPath.slice(0, -1).forEach((k) => {
      const next: Tree = {};
      node[k] = next;
      node = next;
    });
    node[keyPath[keyPath.length - 1]] = value;
    out = deepMerge(out, leaf);
  };
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('KB_') || name === 'KB_DATA_DIR') continue;
    set(name.slice(3).toLowerCase().split('__'), raw);
  }
  if (env.KB_DATA_DIR) out = deepMerge(out, { data_dir: env.KB_DATA_DIR });
  if (env.PORT) out = deepMerge(out, { server: { port: Number(env.PORT) } });
  return out;
}

/** Loads default.yaml < local.yaml < KB_* env < overrides, validates, resolves data_dir. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const dir = opts.configDir ?? path.join(projectRoot, 'config');
  const env = opts.env ?? process.env;
  let tree = readYaml(path.join(dir, 'default.yaml'));
  if (Object.keys(tree).length === 0) throw new ConfigError(`${path.join(dir, 'default.yaml')} is missing or empty`);
  tree = deepMerge(tree, readYaml(path.join(dir, 'local.yaml')));
  tree = deepMerge(tree, envOverrides(env));
  if (opts.overrides) tree = deepMerge(tree, opts.overrides);
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
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

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, DEFAULT_DATA_FILES, deepMerge, loadConfig, parseConfig, projectRoot } from './index.ts';
import { closestKey, editDistance } from './suggest.ts';

// Strict configuration: a key the program does not read is an error naming it (and where it came
// from), never silently ignored; URLs must be usable URLs.

type Tree = Record<string, unknown>;
const defaults = () =>
  [...DEFAULT_DATA_FILES, 'default.yaml'].reduce<Tree>((acc, f) => deepMerge(acc, YAML.parse(fs.readFileSync(path.join(projectRoot, 'config', f), 'utf8')) as Tree), {});
const isObj = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

/** Paths of every mapping in the tree, arrays included. */
function objectPaths(node: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (isObj(node)) {
    out.push(at);
    for (const [k, v] of Object.entries(node)) out.push(...objectPaths(v, [...at, k]));
  } else if (Array.isArray(node)) node.forEach((v, i) => out.push(...objectPaths(v, [...at, i])));
  return out;
}

function withKey(tree: Tree, at: (string | number)[], key: string, value: unknown): Tree {
  const copy = structuredClone(tree);
  let node: Tree = copy;
  for (const seg of at) node = (node as Record<string | number, unknown>)[seg] as Tree;
  node[key] = value;
  return copy;
}

describe('strict configuration', () => {
  it('rejects an unknown key in every mapping of the shipped configuration, naming its path', () => {
    // One real source, so the per-source mapping is walked too.
    const tree = { ...defaults(), sources: [{ name: 's', type: 'jsonl', path: 'x.jsonl', mapping: { id: 'key' } }] };
    const paths = objectPaths(tree);
    expect(paths.length).toBeGreaterThan(40);
    for (const at of paths) {
      const msg = errorOf(() => parseConfig(withKey(tree, at, 'zz_probe', 'probe')));
      expect(msg, at.join('.')).toContain([...at, 'zz_probe'].join('.'));
    }
  });

  it('names a misspelt KB_* variable and suggests the right one', () => {
    const msg = errorOf(() => loadConfig({ env: { KB_RETREIVAL__TOP_K: '3' } }));
    expect(msg).toContain('retreival: unknown key (set by KB_RETREIVAL__TOP_K)');
    expect(msg).toContain('did you mean KB_RETRIEVAL__TOP_K (retrieval)?');
    const nested = errorOf(() => loadConfig({ env: { KB_RETRIEVAL__TOPK: '3' } }));
    expect(nested).toContain('retrieval.topk: unknown key (set by KB_RETRIEVAL__TOPK); did you mean KB_RETRIEVAL__TOP_K (retrieval.top_k)?');
    const unrelated = errorOf(() => loadConfig({ env: { KB_FROBNICATE: '1' } }));
    expect(unrelated).toMatch(/frobnicate: unknown key \(set by KB_FROBNICATE\); known keys here: data_dir, sources/);
  });

  it('names a misspelt YAML key with a suggestion', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-config-'));
    for (const f of ['default.yaml', ...DEFAULT_DATA_FILES]) fs.copyFileSync(path.join(projectRoot, 'config', f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'local.yaml'), 'retreival:\n  top_k: 3\nchunking:\n  target_token: 100\n');
    const msg = errorOf(() => loadConfig({ configDir: dir, env: {} }));
    const local = path.join(dir, 'local.yaml');
    expect(msg).toContain(`retreival: unknown key (in ${local}); did you mean "retrieval"?`);
    expect(msg).toContain(`chunking.target_token: unknown key (in ${local}); did you mean "chunking.target_tokens"?`);
  });

  it('keeps the non-config KB_ variables working and maps KB_LOG_LEVEL as documented', () => {
    const c = loadConfig({ env: { KB_DATA_DIR: '/tmp/kb-x', KB_DEBUG: '1', KB_PYTHON: '/usr/bin/python3', KB_LOG_LEVEL: 'debug', PORT: '9000' } });
    expect(c.log.level).toBe('debug');
    expect(c.data_dir).toBe('/tmp/kb-x');
    expect(c.server.port).toBe(9000);
    expect(loadConfig({ env: { KB_LOG__LEVEL: 'warn' } }).log.level).toBe('warn');
    expect(loadConfig({ env: { KB_LOG_LEVEL: 'debug', KB_LOG__LEVEL: 'error' } }).log.level).toBe('error');
    expect(errorOf(() => loadConfig({ env: { KB_LOG_LEVEL: 'loud' } }))).toContain('log.level');
  });

  it('requires http(s) URLs with a scheme and host', () => {
    const upstream = (base_url: string) => ({ upstreams: { vllm: { base_url, api_key: '', timeout_ms: 1000, max_retries: 0 } } });
    for (const bad of ['localhost:18490/v1', '127.0.0.1:8000/v1', 'ftp://host/v1', 'javascript:alert(1)', 'http://', '', 'vllm']) {
      const msg = errorOf(() => loadConfig({ env: {}, overrides: upstream(bad) }));
      expect(msg, bad).toMatch(/upstreams\.vllm\.base_url: must be an http\(s\) URL/);
    }
    expect(errorOf(() => loadConfig({ env: {}, overrides: upstream('localhost:18490/v1') }))).toContain('"http://localhost:18490/v1"?');
    expect(errorOf(() => loadConfig({ env: { KB_EMBEDDING__OPENAI__BASE_URL: 'localhost:11434/v1' } }))).toMatch(
      /embedding\.openai\.base_url: must be an http\(s\) URL .*\(set by KB_EMBEDDING__OPENAI__BASE_URL\)/,
    );
    for (const good of ['http://127.0.0.1:8000/v1', 'https://api.example.com/v1', 'http://[::1]:8000']) {
      expect(loadConfig({ env: {}, overrides: upstream(good) }).upstreams.vllm.base_url).toBe(good);
    }
  });

  it('rejects source ACL defaults that are not group names', () => {
    for (const bad of [[''], ['  '], ['sales team']]) {
      expect(errorOf(() => loadConfig({ env: {}, overrides: { sources: [{ name: 's', type: 'jsonl', path: 'x', acl_groups: bad }] } }))).toContain('sources.0.acl_groups.0');
    }
  });

  it('rejects an unknown auth.mode', () => {
    expect(errorOf(() => loadConfig({ env: { KB_AUTH__MODE: 'maybe' } }))).toContain('auth.mode');
    expect(loadConfig({ env: { KB_AUTH__MODE: 'required' } }).auth.mode).toBe('required');
    expect(loadConfig({ env: {} }).auth.mode).toBe('off');
  });
});

describe('key suggestions', () => {
  it('measures edits and only suggests plausible typos', () => {
    expect(editDistance('retreival', 'retrieval')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestKey('retreival', ['retrieval', 'rerank'])).toBe('retrieval');
    expect(closestKey('topk', ['top_k', 'candidates'])).toBe('top_k');
    expect(closestKey('frobnicate', ['data_dir', 'sources'])).toBeNull();
  });
});

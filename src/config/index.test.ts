import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envOverrides, loadConfig, projectRoot } from './index.ts';

function tempConfigDir(local?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-config-'));
  fs.copyFileSync(path.join(projectRoot, 'config/default.yaml'), path.join(dir, 'default.yaml'));
  if (local !== undefined) fs.writeFileSync(path.join(dir, 'local.yaml'), local);
  return dir;
}

describe('config', () => {
  it('loads the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.embedding.provider).toBe('local');
    expect(c.ingest.schedule).toBe('0 3 * * 1');
    expect(path.isAbsolute(c.data_dir)).toBe(true);
  });

  it('local.yaml overrides default.yaml and KB_* env overrides both', () => {
    const dir = tempConfigDir('chunking:\n  target_tokens: 300\nindex:\n  m: 24\n');
    const c = loadConfig({ configDir: dir, env: { KB_INDEX__M: '32', KB_DATA_DIR: '/tmp/kbdata', PORT: '9191' } });
    expect(c.chunking.target_tokens).toBe(300);
    expect(c.index.m).toBe(32);
    expect(c.data_dir).toBe('/tmp/kbdata');
    expect(c.server.port).toBe(9191);
  });

  it('names the bad key in the error', () => {
    const dir = tempConfigDir('embedding:\n  provider: magic\n');
    expect(() => loadConfig({ configDir: dir, env: {} })).toThrowError(/embedding\.provider/);
    expect(() => loadConfig({ env: { KB_DEDUPE__THRESHOLD: '1.5' } })).toThrowError(/dedupe\.threshold/);
  });

  it('rejects unknown keys in strict sections and invalid YAML', () => {
    expect(() => loadConfig({ env: { KB_CHUNKING__TARGET_TOKEN: '10' } })).toThrowError(/chunking/);
    const dir = tempConfigDir('index: [unclosed');
    expect(() => loadConfig({ configDir: dir, env: {} })).toThrowError(ConfigError);
  });

  it('validates sources and rejects duplicate names', () => {
    const dir = tempConfigDir(
      'sources:\n  - {name: a, type: jsonl, path: a.jsonl}\n  - {name: a, type: csv, path: b.csv}\n',
    );
    expect(() => loadConfig({ configDir: dir, env: {} })).toThrowError(/sources\.1\.name: duplicate/);
  });

  it('parses env values as YAML scalars', () => {
    expect(envOverrides({ KB_DEMO__ENABLED: 'false', KB_CLEANING__BOILERPLATE_PATTERNS: '["^x$"]' })).toEqual({
      demo: { enabled: false },
      cleaning: { boilerplate_patterns: ['^x$'] },
    });
  });
});

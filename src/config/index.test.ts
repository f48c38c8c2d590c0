import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DATA_FILES, envOverrides, loadConfig, projectRoot } from './index.ts';

function tempConfigDir(local?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-config-'));
  for (const f of ['default.yaml', ...DEFAULT_DATA_FILES]) fs.copyFileSync(path.join(projectRoot, 'config', f), path.join(dir, f));
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

  it('keeps data out of default.yaml: the core schema and question templates load from their own files, overridable', () => {
    const settings = fs.readFileSync(path.join(projectRoot, 'config', 'default.yaml'), 'utf8');
    expect(settings).not.toMatch(/^core:/m);
    expect(settings).not.toMatch(/^  templates:/m);
    const c = loadConfig({ env: {} });
    expect(Object.keys(c.core.types)).toEqual(expect.arrayContaining(['company', 'person', 'product']));
    expect(c.finetune.templates).toBeDefined();
    expect(c.finetune.base_model).toBe('deepseek-r1-distill-qwen-7b'); // default.yaml's finetune keys merge with the templates
    const dir = tempConfigDir('core:\n  list_separator: ";"\n');
    expect(loadConfig({ configDir: dir, env: {} }).core.list_separator).toBe(';');
    // A bad key in a data file is named with that file.
    fs.appendFileSync(path.join(dir, 'core-schema.yaml'), '  zz_probe: 1\n');
    expect(() => loadConfig({ configDir: dir, env: {} })).toThrowError(new RegExp(`core\\.zz_probe: unknown key \\(in ${path.join(dir, 'core-schema.yaml')}\\)`));
    fs.rmSync(path.join(dir, 'finetune-templates.yaml'));
    expect(() => loadConfig({ configDir: dir, env: {} })).toThrowError(/finetune-templates\.yaml is missing or empty/);
  });

  it('parses env values as YAML scalars', () => {
    expect(envOverrides({ KB_DEMO__ENABLED: 'false', KB_CLEANING__BOILERPLATE_PATTERNS: '["^x$"]' })).toEqual({
      demo: { enabled: false },
      cleaning: { boilerplate_patterns: ['^x$'] },
    });
  });
});

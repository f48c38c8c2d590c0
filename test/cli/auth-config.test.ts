import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { revokeKey } from '../../src/auth/keys.ts';
import { projectRoot } from '../../src/config/index.ts';
import { openStore } from '../../src/store/index.ts';

// What an operator sees from the CLI about auth.mode and strict configuration.

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-cli-auth-'));
// Only the variables this test means: a stray KB_* in the caller's shell would (rightly) fail strict config.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KB_')));

function kb(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(projectRoot, 'bin/kb.mjs'), ...args], {
    env: { ...baseEnv, KB_DATA_DIR: dataDir, KB_LOG__LEVEL: 'warn', KB_EMBEDDING__ALLOW_REMOTE: 'false', ...extra },
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kb and auth.mode', () => {
  it('keys create says whether the loaded configuration enforces keys; revoking the last key says what follows', () => {
    const off = kb(['keys', 'create', '--name', 'a', '--json']);
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ name: 'a', auth_mode: 'off' });
    expect(off.stderr).toMatch(/auth\.mode is off in this configuration: servers using it do not check keys/);

    const on = kb(['keys', 'create', '--name', 'b'], { KB_AUTH__MODE: 'required' });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stderr).toMatch(/auth\.mode is required in this configuration/);

    // Key 1 revoked in-process (each CLI start is slow on a loaded machine); the CLI revokes the last.
    const db = openStore(path.join(dataDir, 'kb.sqlite'));
    expect(revokeKey(db, 1)).not.toBeNull();
    db.close();
    const last = kb(['keys', 'revoke', '2'], { KB_AUTH__MODE: 'required' });
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/no active key remains; auth\.mode is required, so every \/v1 request is refused/);
  }, 180_000);

  it('kb serve refuses a non-loopback host while auth is off, before doing anything', () => {
    const r = kb(['serve', '--no-scheduler'], { KB_SERVER__HOST: '0.0.0.0', PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/server\.host is "0\.0\.0\.0" but auth\.mode is off/);
    // Nothing was ingested on the way out.
    expect(fs.existsSync(path.join(dataDir, 'demo'))).toBe(false);
  }, 120_000);

  it('a misspelt KB_ variable stops any command with exit code 2 and a suggestion', () => {
    const r = kb(['keys', 'list'], { KB_RETREIVAL__TOP_K: '3' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean KB_RETRIEVAL__TOP_K');
  }, 120_000);
});

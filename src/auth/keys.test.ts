import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type DB } from '../store/index.ts';
import { countActiveKeys, createKey, hashSecret, KeyInputError, listKeys, parseGroups, parseScopes, revokeKey, verifyKey } from './keys.ts';

let db: DB;
beforeEach(() => {
  db = openStore(':memory:');
});
afterEach(() => db.close());

describe('API keys', () => {
  it('creates a kb_ secret of 32 random bytes, storing only its hash', () => {
    const { key, secret } = createKey(db, { name: 'app', scopes: ['chat', 'admin'], groups: ['sales', 'hr'] });
    expect(secret).toMatch(/^kb_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ name: 'app', scopes: ['chat', 'admin'], groups: ['sales', 'hr'], prefix: secret.slice(0, 11), revokedAt: null });
    const row = db.prepare('SELECT * FROM api_keys').get() as Record<string, string>;
    expect(row.hash).toBe(hashSecret(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('verifies the exact secret only, and not after revocation', () => {
    const { key, secret } = createKey(db, { name: 'app', scopes: ['chat'], groups: [] });
    expect(verifyKey(db, secret)?.id).toBe(key.id);
    expect(verifyKey(db, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(verifyKey(db, 'kb_short')).toBeNull();
    expect(verifyKey(db, 'Bearer whatever')).toBeNull();
    expect(countActiveKeys(db)).toBe(1);
    expect(revokeKey(db, key.id)?.revokedAt).toBeTruthy();
    expect(verifyKey(db, secret)).toBeNull();
    expect(revokeKey(db, key.id)).toBeNull(); // already revoked
    expect(countActiveKeys(db)).toBe(0);
    expect(listKeys(db)).toEqual([]);
    expect(listKeys(db, { includeRevoked: true })).toHaveLength(1);
  });

  it('revokes by prefix', () => {
    const { key, secret } = createKey(db, { name: 'a', scopes: ['chat'], groups: [] });
    expect(revokeKey(db, secret.slice(0, 11))?.id).toBe(key.id);
    expect(revokeKey(db, 'kb_nothere')).toBeNull();
  });

  it('validates names, scopes and groups with clear errors', () => {
    expect(parseScopes('chat, admin,chat')).toEqual(['chat', 'admin']);
    expect(() => parseScopes('chat,root')).toThrow(/unknown scope "root"/);
    expect(() => parseScopes('')).toThrow(KeyInputError);
    expect(parseGroups('sales,hr,')).toEqual(['sales', 'hr']);
    expect(parseGroups('销售')).toEqual(['销售']);
    expect(() => parseGroups('sales team')).toThrow(/invalid group name/);
    expect(() => createKey(db, { name: '  ', scopes: ['chat'], groups: [] })).toThrow(/name is required/);
  });
});

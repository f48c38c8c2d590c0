import crypto from 'node:crypto';
import type { DB } from '../store/index.ts';
import { GROUP_NAME_RULE, isGroupName } from './groups.ts';
import { cachedStatement } from '../store/statements.ts';

// API keys: `kb_` + 32 random bytes (base64url). Only the SHA-256 hash is stored; lookups narrow
// by the stored prefix and compare hashes in constant time, so timing reveals nothing.

// 'metrics': read /metrics and the detailed /readyz while auth is on (a Prometheus scraper's key).
// upload: add files/records to the managed uploads source, readable only within the key's own groups.
export const keyScopes = ['chat', 'retrieve', 'admin', 'metrics', 'upload'] as const;
export type KeyScope = (typeof keyScopes)[number];

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: KeyScope[];
  groups: string[];
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** A key as the API and `kb keys --json` show it: never the secret or its hash. */
export function keyJson(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    groups: k.groups,
    created_at: k.createdAt,
    revoked_at: k.revokedAt,
    last_used_at: k.lastUsedAt,
  };
}

export class KeyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyInputError';
  }
}

const PREFIX_CHARS = 11; // "kb_" + 8 characters of the random part

interface Row {
  id: number;
  name: string;
  prefix: string;
  hash: string;
  scopes: string;
  groups: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

const toKey = (r: Row): ApiKey => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  scopes: JSON.parse(r.scopes) as KeyScope[],
  groups: JSON.parse(r.groups) as string[],
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

export const hashSecret = (secret: string): string => crypto.createHash('sha256').update(secret, 'utf8').digest('hex');

/** Parses "chat,admin" / ["chat"] into validated scopes (throws KeyInputError). */
export function parseScopes(input: string | string[]): KeyScope[] {
  const list = (Array.isArray(input) ? input : input.split(',')).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new KeyInputError(`at least one scope is required (${keyScopes.join(', ')})`);
  for (const s of list) {
    if (!(keyScopes as readonly string[]).includes(s)) throw new KeyInputError(`unknown scope "${s}" (allowed: ${keyScopes.join(', ')})`);
  }
  return [...new Set(list)] as KeyScope[];
}

/** Parses "sales,hr" into ACL group names; an empty list = the key sees public documents only. */
export function parseGroups(input: string | string[] | undefined): string[] {
  if (input === undefined) return [];
  const list = (Array.isArray(input) ? input : input.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const g of list) if (!isGroupName(g)) throw new KeyInputError(`invalid group name "${g}" (${GROUP_NAME_RULE})`);
  return [...new Set(list)];
}

export interface CreateKeyInput {
  name: string;
  scopes: KeyScope[];
  groups: string[];
}

/** Creates a key. The returned secret is not stored anywhere: show it once. */
export function createKey(db: DB, input: CreateKeyInput): { key: ApiKey; secret: string } {
  const name = input.name.trim();
  if (!name) throw new KeyInputError('a key name is required');
  const scopes = parseScopes(input.scopes);
  const groups = parseGroups(input.groups);
  const secret = `kb_${crypto.randomBytes(32).toString('base64url')}`;
  const info = db
    .prepare('INSERT INTO api_keys (name, prefix, hash, scopes, groups) VALUES (?, ?, ?, ?, ?)')
    .run(name, secret.slice(0, PREFIX_CHARS), hashSecret(secret), JSON.stringify(scopes), JSON.stringify(groups));
  return { key: getKey(db, Number(info.lastInsertRowid))!, secret };
}

export function getKey(db: DB, id: number): ApiKey | null {
  const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
  return row ? toKey(row) : null;
}

export function listKeys(db: DB, opts: { includeRevoked?: boolean } = {}): ApiKey[] {
  const sql = opts.includeRevoked ? 'SELECT * FROM api_keys ORDER BY id' : 'SELECT * FROM api_keys WHERE revoked_at IS NULL ORDER BY id';
  return (db.prepare(sql).all() as Row[]).map(toKey);
}

/** Revokes by id or by prefix. Returns the revoked key, or null when none matched / already revoked. */
export function revokeKey(db: DB, idOrPrefix: string | number): ApiKey | null {
  const s = String(idOrPrefix).trim();
  const row = (/^\d+$/.test(s)
    ? db.prepare('SELECT * FROM api_keys WHERE id = ?').get(Number(s))
    : db.prepare('SELECT * FROM api_keys WHERE prefix = ?').get(s)) as Row | undefined;
  if (!row || row.revoked_at) return null;
  db.prepare("UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(row.id);
  return getKey(db, row.id);
}

export function countActiveKeys(db: DB): number {
  return db.prepare('SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL').pluck().get() as number;
}

/**
 * Returns the active key for a presented secret, or null. Hashes are compared in constant time;
 * a malformed secret still costs one hash so that timing does not tell formats apart.
 */
export function verifyKey(db: DB, secret: string): ApiKey | null {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  if (!secret.startsWith('kb_') || secret.length < PREFIX_CHARS) return null;
  const rows = cachedStatement(db, 'SELECT * FROM api_keys WHERE prefix = ?').all(secret.slice(0, PREFIX_CHARS)) as Row[];
  let match: Row | null = null;
  for (const row of rows) {
    if (crypto.timingSafeEqual(presented, Buffer.from(row.hash, 'hex')) && !row.revoked_at) match = row;
  }
  return match ? toKey(match) : null;
}

/** Records use; callers throttle this (one write per key per minute is plenty). */
export function touchKey(db: DB, id: number): void {
  db.prepare("UPDATE api_keys SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(id);
}

export const hasScope = (key: ApiKey, scope: KeyScope): boolean => key.scopes.includes(scope);

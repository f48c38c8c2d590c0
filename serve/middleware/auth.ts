import type { RequestHandler } from 'express';
import { countActiveKeys, hasScope, touchKey, verifyKey, type KeyScope } from '../../src/auth/keys.ts';
import type { DB } from '../../src/store/index.ts';
import { HttpError } from '../errors.ts';
import { state } from '../state.ts';

const TOUCH_EVERY_MS = 60_000;

const NO_KEYS_HINT = 'auth.mode is required and no active API key exists: create one with `kb keys create --name NAME --scopes chat`.';

/**
 * Bearer-key authentication for /v1. `required()` says whether auth is on (auth.mode, fixed for
 * the server's life). With auth on and no valid key, the request is refused — also when no key
 * exists at all: zero keys means nobody gets in, never that everybody does.
 */
export function authenticate(db: DB, required: () => boolean): RequestHandler {
  const lastTouch = new Map<number, number>();
  return (req, res, next) => {
    const s = state(res);
    if (!required()) return next();
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Only a refused request pays for the count, to say how to recover when no key exists.
    const noKeys = () => (countActiveKeys(db) === 0 ? ` ${NO_KEYS_HINT}` : '');
    if (!m) {
      return next(new HttpError(401, `Missing API key: send it as "Authorization: Bearer <key>" (create keys with \`kb keys create\`).${noKeys()}`, 'authentication_error', 'missing_api_key'));
    }
    const key = verifyKey(db, m[1]);
    if (!key) return next(new HttpError(401, `Invalid or revoked API key.${noKeys()}`, 'authentication_error', 'invalid_api_key'));
    s.key = key;
    s.groups = key.groups;
    s.log = s.log.child({ key_id: key.id });
    const now = Date.now();
    if ((lastTouch.get(key.id) ?? 0) + TOUCH_EVERY_MS < now) {
      lastTouch.set(key.id, now);
      try {
        touchKey(db, key.id);
      } catch (err) {
        s.log.warn({ err: (err as Error).message }, 'could not record key use');
      }
    }
    next();
  };
}

/** Requires one of `scopes` on the key (passes when auth is off). */
export function requireScope(...scopes: KeyScope[]): RequestHandler {
  return (_req, res, next) => {
    const { key } = state(res);
    if (!key || scopes.some((sc) => hasScope(key, sc))) return next();
    next(new HttpError(403, `This API key lacks the required scope (${scopes.join(' or ')}).`, 'permission_error', 'insufficient_scope'));
  };
}

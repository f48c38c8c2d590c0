import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../src/log/index.ts';
import type { RequestState } from '../state.ts';

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes the caller's X-Request-Id when sane (else makes one), echoes it, and binds it to the logger. */
export function requestId(log: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const id = incoming && VALID_ID.test(incoming) ? incoming : crypto.randomUUID();
    res.setHeader('X-Request-Id', id);
    const kb: RequestState = { requestId: id, log: log.child({ req_id: id }), key: null, groups: null, route: 'unmatched' };
    res.locals.kb = kb;
    next();
  };
}

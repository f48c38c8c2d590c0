import type { Response } from 'express';
import type { ApiKey } from '../src/auth/keys.ts';
import type { Logger } from '../src/log/index.ts';

/** Per-request state kept in res.locals.kb (typed access through `state(res)`). */
export interface RequestState {
  requestId: string;
  log: Logger;
  /** The authenticated key; null when auth is off. */
  key: ApiKey | null;
  /** ACL groups for retrieval: the key's groups, or null (unrestricted) when auth is off. */
  groups: string[] | null;
  /** Metrics label of the route (set by each route; unmatched requests stay 'unmatched'). */
  route: string;
}

export function state(res: Response): RequestState {
  return (res.locals as { kb: RequestState }).kb;
}

/** Names the route for metrics and logs (a fixed label, never the raw path: bounded cardinality). */
export function routeLabel(label: string): import('express').RequestHandler {
  return (_req, res, next) => {
    state(res).route = label;
    next();
  };
}

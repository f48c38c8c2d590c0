import type { RequestHandler } from 'express';
import { HttpError } from '../errors.ts';

// With auth off (no keys: the server listens on 127.0.0.1 for local use), any web page the local
// user visits could make the browser POST a multipart form to these routes — a "simple" request
// that needs no CORS permission. Requests that change state are therefore refused when a browser
// says they come from another site. A request carrying an Authorization header is not at risk
// (browsers never add one by themselves), and clients that are not browsers send neither header.

function crossSite(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host !== host;
  } catch {
    return true; // "null" (sandboxed frames, file: pages) or garbage
  }
}

export const sameSiteOnly: RequestHandler = (req, _res, next) => {
  if (req.get('authorization')) return next();
  const site = req.get('sec-fetch-site');
  const origin = req.get('origin');
  const refused = site ? site === 'cross-site' : origin !== undefined && crossSite(origin, req.get('host'));
  if (refused) return next(new HttpError(403, 'Cross-site request refused: this action can only be taken from this server\'s own pages or with an API key.', 'permission_error', 'cross_site_request'));
  next();
};

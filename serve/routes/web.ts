import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';
import { createRequire } from 'node:module';
import { keyScopes } from '../../src/auth/keys.ts';
import { supportedExtensions } from '../../ingest/uploads/store.ts';
import type { AppDeps } from '../deps.ts';
import { routeLabel, state } from '../state.ts';

// The browser UI: the chat page at / and the admin console at /admin, plain ES modules and CSS
// from serve/web (no build step), chart.js served from node_modules (no CDN: works offline).
// The pages hold no secrets; every API call carries the key in the Authorization header.

const webDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'web');
// The package's exports map hides dist/chart.umd.js; resolve the package, then the file beside its CJS build.
const chartJs = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

// Scripts and styles only from this server; API calls only to it; no framing by other sites.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'", // chart.js sizes its canvas with style attributes
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

export function webRoutes(): Router {
  const r = Router();
  const page = (file: string): RequestHandler[] => [
    routeLabel(`/${file}`),
    securityHeaders,
    (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(path.join(webDir, file));
    },
  ];
  r.get('/', ...page('index.html'));
  r.get(['/admin', '/admin/'], ...page('admin.html'));
  r.get('/vendor/chart.umd.js', routeLabel('/vendor'), (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(chartJs);
  });
  // ETags make reloads cheap; no-cache makes a server upgrade show at once.
  r.use('/ui', routeLabel('/ui'), securityHeaders, express.static(path.join(webDir, 'ui'), { index: false, fallthrough: true, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));
  return r;
}

/** GET /v1/session: who the presented key is, so the pages show what it may do. */
export function sessionRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  r.get('/session', routeLabel('/v1/session'), ...guard, (_req, res) => {
    const { key } = state(res);
    res.json({
      auth: deps.authRequired(),
      key: key ? { id: key.id, name: key.name, prefix: key.prefix, scopes: key.scopes, groups: key.groups } : null,
      // With auth off every caller may do everything (the server listens on 127.0.0.1 only).
      scopes: key ? key.scopes : [...keyScopes],
      assistants: [...deps.assistants.values()].map((a) => ({ id: a.id, description: a.settings.description, mode: a.model ? 'generated' : 'extractive' })),
      uploads: { enabled: deps.config.uploads.enabled, max_file_bytes: deps.config.uploads.max_file_bytes, max_files: deps.config.uploads.max_files_per_request, extensions: supportedExtensions() },
    });
  });
  return r;
}

import express, { type Express, type RequestHandler } from 'express';
import type { KeyScope } from '../src/auth/keys.ts';
import type { Config } from '../src/config/index.ts';
import { buildAssistants, type Assistant } from '../src/llm/assistants.ts';
import { activeAdapter } from '../finetune/registry/index.ts';
import { silentLogger, type Logger } from '../src/log/index.ts';
import type { Retriever } from '../src/retrieval/types.ts';
import type { DB } from '../src/store/index.ts';
import { Lifecycle, type AppDeps, type IndexStatusProvider, type StartIngestion } from './deps.ts';
import { HttpError } from './errors.ts';
import { ServerMetrics } from './metrics.ts';
import { authenticate, requireScope } from './middleware/auth.ts';
import { errorHandler, notFound } from './middleware/errors.ts';
import { observeRequests } from './middleware/metrics.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { adminRoutes } from './routes/admin.ts';
import { chatRoutes } from './routes/chat.ts';
import { denseState, healthRoutes } from './routes/health.ts';
import { modelRoutes } from './routes/models.ts';
import { retrieveRoutes } from './routes/retrieve.ts';
import { consoleFinetuneRoutes } from './routes/console-finetune.ts';
import { consoleOpsRoutes } from './routes/console-ops.ts';
import { documentRoutes } from './routes/console-documents.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { sessionRoutes, webRoutes } from './routes/web.ts';

export interface CreateAppOptions {
  config: Config;
  db: DB;
  retriever: Retriever;
  log?: Logger;
  /** Default: built from config.upstreams/assistants. */
  assistants?: Map<string, Assistant>;
  metrics?: ServerMetrics;
  indexStatus?: IndexStatusProvider;
  startIngestion?: StartIngestion;
}

export interface KbApp {
  app: Express;
  deps: AppDeps;
}

export function createApp(opts: CreateAppOptions): KbApp {
  const log = opts.log ?? silentLogger;
  // Auth comes from configuration only: how many keys exist never switches it (see auth.mode).
  const required = opts.config.auth.mode === 'required';
  const authRequired = () => required;
  const deps: AppDeps = {
    config: opts.config,
    db: opts.db,
    retriever: opts.retriever,
    log,
    assistants: opts.assistants ?? buildAssistants(opts.config, log, (id) => activeAdapter(opts.db, id)?.version ?? null),
    metrics: opts.metrics ?? new ServerMetrics(),
    lifecycle: new Lifecycle(),
    authRequired,
    indexStatus: opts.indexStatus,
    startIngestion: opts.startIngestion,
  };

  if (deps.indexStatus) {
    const provider = deps.indexStatus;
    deps.metrics.indexState = async () => {
      const st = await provider();
      return { state: denseState(st).state, serving: (st.version as number | null | undefined) ?? null, active: (st.activeVersion as number | null | undefined) ?? null };
    };
  }

  deps.metrics.log ??= log;
  deps.metrics.guardAll(); // metrics registered after construction (other modules) are guarded too
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestId(log));
  app.use((req, _res, next) => {
    // HTTP/1.1 requires Host (RFC 9112 §3.2); Node's own check is off so the refusal is OpenAI-shaped.
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
      return next(new HttpError(400, 'HTTP/1.1 requests must carry a Host header.', 'invalid_request_error', 'missing_host_header'));
    }
    next();
  });
  app.use((_req, res, next) => {
    const end = deps.lifecycle.begin();
    res.on('close', end);
    res.on('finish', end);
    next();
  });
  app.use(observeRequests(deps.metrics));
  app.use(healthRoutes(deps));

  // Every /v1 route: auth, then the per-key rate limit, then (only then) the body is read.
  const auth = authenticate(opts.db, authRequired);
  const limiter = rateLimit({ requestsPerMinute: opts.config.auth.rate_limit.requests_per_minute, burst: opts.config.auth.rate_limit.burst });
  const json = express.json({ limit: opts.config.auth.max_body_bytes, strict: true });
  const refuseWhileClosing: RequestHandler = (_req, res, next) => {
    if (!deps.lifecycle.closing) return next();
    res.setHeader('Connection', 'close');
    next(new HttpError(503, 'The server is shutting down; retry shortly.', 'service_unavailable', 'shutting_down'));
  };
  const guard = (...scopes: KeyScope[]): RequestHandler[] => [refuseWhileClosing, auth, limiter, json, requireScope(...scopes)];

  const v1 = express.Router();
  v1.use(chatRoutes(deps, guard('chat')));
  v1.use(retrieveRoutes(deps, guard('chat', 'retrieve')));
  v1.use(modelRoutes(deps, guard('chat', 'retrieve')));
  v1.use(adminRoutes(deps, guard('admin')));
  // Web console APIs (serve/routes/console-*.ts, uploads.ts) and the pages themselves (web.ts).
  v1.use(sessionRoutes(deps, guard('chat', 'retrieve', 'admin', 'upload')));
  v1.use(documentRoutes(deps, guard('chat', 'retrieve'), guard('admin')));
  v1.use(uploadRoutes(deps, guard('admin', 'upload')));
  v1.use(consoleOpsRoutes(deps, guard('admin')));
  v1.use(consoleFinetuneRoutes(deps, guard('admin')));
  app.use('/v1', v1);
  app.use(webRoutes());
  app.use(notFound);
  app.use(errorHandler);
  return { app, deps };
}

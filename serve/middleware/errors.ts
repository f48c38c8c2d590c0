import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpError, errorBody } from '../errors.ts';
import { state } from '../state.ts';

/** Unknown routes get a 404 in the OpenAI error shape. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `Unknown route: ${req.method} ${req.path}`, 'not_found_error', 'unknown_route'));
};

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** Turns every error (ours, body-parser's, unexpected ones) into an OpenAI-shaped JSON error. */
export const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  const s = state(res);
  let http: HttpError;
  const bp = err as BodyParserError;
  if (err instanceof HttpError) {
    http = err;
  } else if ((err as Error)?.name === 'RetrievalRequestError') {
    // The retriever refused the request's parameters (its own validation): the caller's fault.
    http = new HttpError(400, (err as Error).message, 'invalid_request_error', 'invalid_request');
  } else if ((err as Error)?.name === 'RetrievalUnavailableError') {
    // Retrieval saturated (queue full or waited too long), a worker crashed, or shutdown: the
    // request was fine, the server could not take it now. Clients retry after Retry-After.
    const e = err as Error & { code: string; retryAfterSeconds: number };
    http = new HttpError(503, e.message, 'service_unavailable', e.code, null, { 'Retry-After': String(e.retryAfterSeconds) });
  } else if (bp?.type === 'entity.too.large') {
    http = new HttpError(413, `Request body too large: the limit is ${bp.limit} bytes`, 'invalid_request_error', 'request_too_large');
  } else if (bp?.type === 'entity.parse.failed') {
    http = new HttpError(400, `Malformed JSON in the request body: ${bp.message}`, 'invalid_request_error', 'invalid_json');
  } else if (bp?.type && typeof bp.status === 'number' && bp.status < 500) {
    http = new HttpError(bp.status, bp.message, 'invalid_request_error', bp.type.replace(/\W/g, '_'));
  } else {
    s.log.error({ err }, 'unhandled error');
    http = new HttpError(500, `Internal server error (request id ${s.requestId})`, 'server_error', 'internal_error');
  }
  if (http.status >= 500 && http.type !== 'server_error') s.log.warn({ status: http.status, code: http.code, msg: http.message }, 'request failed');
  if (res.headersSent) {
    // Streaming already started: the SSE writer reports errors itself; just end.
    res.end();
    return;
  }
  for (const [k, v] of Object.entries(http.headers)) res.setHeader(k, v);
  res.status(http.status).json(errorBody(http.message, http.type, http.code, http.param));
};

import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpError, errorBody } from '../errors.ts';
import { state } from '../state.ts';

/** Unknown routes get a 404 in the OpenAI error shape. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, `Unknown route: ${req.method} ${req.path}`, 'not_found_error', 'unknown_route'));
};

interface ClientErrorLike extends Error {
  /** body-parser / raw-body: what went wrong, e.g. entity.parse.failed. */
  type?: string;
  /** http-errors (body-parser, the router's URI decoding): the status it stands for. */
  status?: number;
  statusCode?: number;
  /** http-errors: whether the message is safe to show (false for 5xx). */
  expose?: boolean;
  limit?: number;
  /** zlib: Z_DATA_ERROR, Z_BUF_ERROR, … */
  code?: string;
}

// Errors the retrieval core throws for parameters it refuses: the caller's fault, never a 500.
const CALLER_ERRORS = new Set(['RetrievalRequestError', 'FilterError']);

/**
 * Maps any error to the HttpError it stands for; null for a genuine server fault. Every 4xx that
 * Express, body-parser or the router raise carries `status` (http-errors): those are client
 * errors even when this file does not know their `type`, so they never become a 500.
 */
export function toHttpError(err: unknown, contentEncoding?: string): HttpError | null {
  if (err instanceof HttpError) return err;
  const e = err as ClientErrorLike | null;
  if (!e || typeof e !== 'object') return null;
  if (CALLER_ERRORS.has(e.name)) return new HttpError(400, e.message, 'invalid_request_error', 'invalid_request');
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  switch (e.type) {
    case 'entity.too.large':
      return new HttpError(413, `Request body too large: the limit is ${e.limit} bytes`, 'invalid_request_error', 'request_too_large');
    case 'entity.parse.failed':
      return new HttpError(400, `Malformed JSON in the request body: ${e.message}`, 'invalid_request_error', 'invalid_json');
    case 'encoding.unsupported':
      return new HttpError(415, `${e.message} (supported: identity, gzip, deflate, br)`, 'invalid_request_error', 'encoding_unsupported');
    case 'charset.unsupported':
      return new HttpError(415, e.message, 'invalid_request_error', 'charset_unsupported');
  }
  // Decompression failed: the body is not in the Content-Encoding it claims. body-parser passes
  // zlib's own error on (Z_DATA_ERROR, Z_BUF_ERROR; brotli: ERR__ERROR_FORMAT_…) with status 400
  // and no `type`, which no other body-parser failure lacks.
  const encoded = !!contentEncoding && contentEncoding.trim().toLowerCase() !== 'identity';
  if ((typeof e.code === 'string' && e.code.startsWith('Z_')) || (encoded && status === 400 && !e.type)) {
    return new HttpError(400, `The request body could not be decoded as its Content-Encoding says: ${e.message}`, 'invalid_request_error', 'invalid_content_encoding');
  }
  if (e instanceof URIError) return new HttpError(400, `Malformed percent-encoding in the URL: ${e.message}`, 'invalid_request_error', 'invalid_url');
  const code = e.type ? e.type.replace(/\W/g, '_') : 'invalid_request';
  return new HttpError(status, e.expose === false ? 'Bad request' : e.message || 'Bad request', 'invalid_request_error', code);
}

/** Turns every error (ours, body-parser's, unexpected ones) into an OpenAI-shaped JSON error. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  const s = state(res);
  let http = toHttpError(err, req.headers['content-encoding']);
  if (!http) {
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

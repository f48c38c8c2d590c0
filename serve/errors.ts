import type { ZodError } from 'zod';

// Every error leaves the server in OpenAI's shape: {"error": {message, type, param, code}}.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'conflict_error'
  | 'upstream_error'
  | 'server_error'
  | 'service_unavailable';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toBody(): ErrorBody {
    return errorBody(this.message, this.type, this.code, this.param);
  }
}

export function errorBody(message: string, type: ErrorType, code: string | null = null, param: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

/** A 400 naming the first invalid field, e.g. "messages.0.role: Invalid option …". */
export function validationError(err: ZodError): HttpError {
  const issue = err.issues[0];
  const param = issue && issue.path.length ? issue.path.join('.') : null;
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more problem${err.issues.length > 2 ? 's' : ''})` : '';
  return new HttpError(400, `${param ? `${param}: ` : ''}${issue?.message ?? 'invalid request'}${more}`, 'invalid_request_error', 'invalid_request', param);
}

import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../src/log/index.ts';
import { errorBody } from './errors.ts';

// Requests Node's HTTP parser rejects (headers too large, malformed request line or headers,
// header timeout) never reach Express: Node answers them itself with an empty 400/431/408.
// This answers them in the OpenAI error shape like every other error of the server.

interface ParserError extends Error {
  code?: string;
}

function classify(err: ParserError): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers_too_large', message: 'The request headers are too large.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'The request headers were not received in time.' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'request_too_large', message: 'The chunk extensions of the request body are too large.' };
    default:
      return { status: 400, code: 'malformed_request', message: `Malformed HTTP request${err.code ? ` (${err.code})` : ''}.` };
  }
}

/** Installs the server's `clientError` handler (which replaces Node's default reply). */
export function answerClientErrors(server: http.Server, log: Logger): void {
  server.on('clientError', (err: ParserError, socket: Duplex) => {
    // As Node's default handler: no reply once a response started, or on a dead socket.
    const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || started) {
      socket.destroy();
      return;
    }
    const { status, code, message } = classify(err);
    log.debug({ code: err.code, status }, 'malformed HTTP request refused');
    const body = JSON.stringify(errorBody(message, 'invalid_request_error', code));
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

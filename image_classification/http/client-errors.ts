import type { Socket } from 'node:net';
import { errorBody, InferenceError } from '../errors';

/**
 * Requests Node's HTTP parser rejects before Express sees them (a control character in a
 * header, headers over maxHeaderSize, a malformed request line) get the same JSON error body
 * as everything else, instead of Node's empty 400 / 431.
 */

/** Larger than anything nginx forwards (large_client_header_buffers 4 × 16k), so nginx's limits decide. */
export const MAX_REQUEST_HEADER_BYTES = 96 * 1024;

function errorFor(code: string | undefined): InferenceError {
  if (code === 'HPE_HEADER_OVERFLOW') return new InferenceError(431, 'headers_too_large', 'the request headers are too large');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new InferenceError(408, 'request_timeout', 'the request was not received in time');
  return new InferenceError(400, 'bad_request', 'malformed HTTP request');
}

export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // Nothing to answer on a connection the peer already reset, or one with an answer under way.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const httpError = errorFor(error.code);
  const body = JSON.stringify(errorBody(httpError));
  const head = [
    `HTTP/1.1 ${httpError.status} ${httpError.code}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

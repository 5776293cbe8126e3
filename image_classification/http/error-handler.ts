import type { ErrorRequestHandler, RequestHandler } from 'express';
import { clip, errorBody, MethodNotAllowedError, NotFoundError, OverloadedError, toHttpError } from '../errors';
import { InvocationTiming } from './invocation-timing';
import { isRuntimeRequest, sendModelError } from './runtime-emulation';

/** The one place an error becomes a response: JSON body, right status, no internals. */
export function errorHandler(options: { maxPayloadBytes: number; serverTiming: boolean }): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const httpError = toHttpError(error, options);
    // Real failures get a log line with the stack; refusals (4xx, 503 overload) are part of
    // the request line pino-http writes (via res.locals), so overload costs no extra logging.
    if (httpError.status >= 500 && httpError.status !== 503) req.log.error({ err: error }, 'request failed');
    res.locals.error = { code: httpError.code, reason: httpError.message };
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A body left unread is discarded by Node after the response, keeping the connection to
    // nginx alive; closing it instead makes nginx see EPIPE mid-upload and report the worker.
    const timing = InvocationTiming.of(res);
    if (timing && options.serverTiming) res.setHeader('Server-Timing', timing.header());
    if (httpError.status === 503)
      res.setHeader('Retry-After', String(httpError instanceof OverloadedError ? httpError.retryAfterSeconds : 1));
    if (isRuntimeRequest(res)) sendModelError(res, httpError.status, errorBody(httpError));
    else res.status(httpError.status).json(errorBody(httpError));
  };
}

export const notFound: RequestHandler = (req, _res, next) =>
  next(new NotFoundError(`no route for ${clip(req.method, 16)} ${clip(req.path)}`));

export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Allow', allowed.join(', '));
    next(new MethodNotAllowedError(req.method, allowed));
  };
}

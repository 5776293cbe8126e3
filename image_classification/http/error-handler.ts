import type { ErrorRequestHandler, RequestHandler } from 'express';
import { errorBody, MethodNotAllowedError, NotFoundError, OverloadedError, toHttpError } from '../errors';
import { isRuntimeRequest, sendModelError } from './runtime-emulation';

/** The one place an error becomes a response: JSON body, right status, no internals. */
export function errorHandler(limits: { maxPayloadBytes: number }): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const httpError = toHttpError(error, limits);
    if (httpError.status >= 500) req.log.error({ err: error }, 'request failed');
    else req.log.info({ code: httpError.code, reason: httpError.message }, 'request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An unread body left on a kept-alive connection would be parsed as the next request.
    if (!req.complete) res.setHeader('Connection', 'close');
    if (httpError.status === 503) res.setHeader('Retry-After', String(httpError instanceof OverloadedError ? httpError.retryAfterSeconds : 1));
    if (isRuntimeRequest(res)) sendModelError(res, httpError.status, errorBody(httpError));
    else res.status(httpError.status).json(errorBody(httpError));
  };
}

export const notFound: RequestHandler = (req, _res, next) => next(new NotFoundError(`no route for ${req.method} ${req.path}`));

export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Allow', allowed.join(', '));
    next(new MethodNotAllowedError(req.method, allowed));
  };
}

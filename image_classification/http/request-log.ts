import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pinoHttp from 'pino-http';
import { clip } from '../errors';
import type { Logger } from '../logger';
import { TARGET_MODEL } from '../multi-model/names';

/** Request id headers a caller (SageMaker, a load balancer, a client) may already have set. */
const ID_HEADERS = ['x-amzn-requestid', 'x-request-id'] as const;

/**
 * An id worth echoing and logging: visible ASCII, at most 200 characters. Anything else (a
 * 15 kB id would overflow nginx's buffer for the answer's headers) is replaced by a fresh one.
 */
const ECHOABLE_ID = /^[\x21-\x7e]{1,200}$/;

function requestId(req: IncomingMessage, res: ServerResponse): string {
  let id: string | undefined;
  for (const name of ID_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string' && ECHOABLE_ID.test(value)) {
      res.setHeader(name, value);
      id ??= value;
    }
  }
  if (!id) {
    id = randomUUID();
    res.setHeader('x-request-id', id);
  }
  return id;
}

/** One JSON line per request: id, method, path, status, latency. */
export function requestLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: requestId,
    customLogLevel: (_req, res) => (res.statusCode >= 500 && res.statusCode !== 503 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    // The error handler already logged real failures with their stack; refusals need none.
    customAttributeKeys: { err: 'requestError' },
    customProps: (req, res) => {
      const refusal = (res as ServerResponse & { locals?: { error?: object } }).locals?.error;
      // SageMaker passes InvokeEndpoint's TargetModel on (multi-model endpoints): for the log only.
      const target = req.headers[TARGET_MODEL];
      return { ...(refusal ? { error: refusal } : {}), ...(typeof target === 'string' ? { targetModel: clip(target, 256) } : {}) };
    },
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      requestError: () => undefined,
    },
  });
}

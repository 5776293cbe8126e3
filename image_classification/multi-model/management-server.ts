import { rmSync } from 'node:fs';
import http from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { clip, errorBody, MethodNotAllowedError, NotFoundError, toHttpError } from '../errors';
import type { Logger } from '../logger';
import type { ModelManager } from './manager';
import { TARGET_MODEL } from './names';

/** The internal path a worker asks for a load on first use (nginx never routes it). */
export const ENSURE_PATH = '/__models/ensure';

/** A load request is a name and a path: anything larger is not one. */
const MAX_BODY = '16kb';

/** One log line per management request, with the TargetModel SageMaker passes along. */
const requestLog =
  (logger: Logger): RequestHandler =>
  (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const target = req.get(TARGET_MODEL);
      const fields = {
        method: req.method,
        url: clip(req.originalUrl, 300),
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      };
      logger.info(target ? { ...fields, targetModel: clip(target, 256) } : fields, 'model management request');
    });
    next();
  };

const allow =
  (methods: readonly string[]): RequestHandler =>
  (req, res, next) => {
    res.setHeader('Allow', methods.join(', '));
    next(new MethodNotAllowedError(req.method, methods));
  };

function errors(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const httpError = toHttpError(error, { maxPayloadBytes: 16 * 1024 });
    if (httpError.status >= 500 && httpError.status !== 503 && httpError.status !== 507)
      logger.error({ err: error }, 'model management failed');
    if (httpError.status === 503) res.setHeader('Retry-After', '1');
    res.status(httpError.status).json(errorBody(httpError));
  };
}

/**
 * SageMaker's multi-model API (load, list, get, unload), answered by serve itself on a unix
 * socket that nginx routes /models and /models/{name} to; invocations go to the workers.
 */
export function managementApp(manager: ModelManager, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(requestLog(logger));
  const json = express.json({ limit: MAX_BODY, type: () => true });
  const body = (req: express.Request): Record<string, unknown> =>
    typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};

  app.post('/models', json, async (req, res) => {
    const { model_name: name, url } = body(req);
    res.json({ status: 'loaded', ...(await manager.load(name, url)) });
  });
  app.get('/models', (req, res) => {
    res.json(manager.list(req.query.next_page_token, req.query.page_size));
  });
  app.all('/models', allow(['GET', 'POST']));
  app.get('/models/:name', (req, res) => {
    res.json(manager.get(req.params.name));
  });
  app.delete('/models/:name', async (req, res) => {
    await manager.unload(req.params.name);
    res.json({ status: 'unloaded', modelName: req.params.name });
  });
  app.all('/models/:name', allow(['GET', 'DELETE']));
  app.post(ENSURE_PATH, json, async (req, res) => {
    const { model_name: name, url } = body(req);
    res.json(await manager.ensure(name, url));
  });
  app.use((req, _res, next) => next(new NotFoundError(`no route for ${clip(req.method, 16)} ${clip(req.path)}`)));
  app.use(errors(logger));
  return app;
}

export function startManagementServer(manager: ModelManager, socket: string, logger: Logger): http.Server {
  rmSync(socket, { force: true });
  const server = http.createServer(managementApp(manager, logger));
  server.listen({ path: socket, readableAll: true, writableAll: true });
  return server;
}

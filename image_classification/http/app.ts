import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { WORKER_SNAPSHOT_PATH, type WorkerMetrics } from '../metrics/worker-metrics';
import { errorHandler, methodNotAllowed, notFound } from './error-handler';
import { invocationHandlers } from './invocations';
import type { ModelState } from './model-state';
import { requestLog } from './request-log';
import { RUNTIME_PATH, runtimeEmulation } from './runtime-emulation';

export interface AppDependencies {
  readonly config: Config;
  readonly state: ModelState;
  readonly logger: Logger;
  /** Counted and exposed when MODEL_SERVER_METRICS is on. */
  readonly metrics?: WorkerMetrics | undefined;
}

/**
 * The worker's HTTP contract: GET /ping and POST /invocations (plus the InvokeEndpoint path
 * for local emulation); everything else is a JSON 404/405.
 */
export function createApp({ config, state, logger, metrics }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Before the request log: the supervisor collects every few seconds.
  if (metrics) {
    // This worker alone, in Prometheus' text format (a worker run by itself); behind serve,
    // the supervisor's /metrics covers every worker.
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
    app.get(WORKER_SNAPSHOT_PATH, async (_req, res) => {
      res.json(await metrics.snapshot());
    });
  }

  app.use(helmet());
  app.use(requestLog(logger));

  // /ping never touches the model: it only reports the state the worker is in.
  app.get('/ping', (_req, res) => {
    const status = state.status;
    const pipeline = state.pipeline;
    if (pipeline) {
      const { handler, model } = pipeline.summary;
      res.json({ status: 'healthy', provider: model?.provider, handler });
      return;
    }
    if (status === 'loading') res.setHeader('Retry-After', '1');
    res.status(503).json({ status, ...state.failure });
  });
  app.all('/ping', methodNotAllowed(['GET']));

  const invocations = invocationHandlers(config, state, metrics);
  app.post('/invocations', ...invocations);
  app.all('/invocations', methodNotAllowed(['POST']));
  app.post(RUNTIME_PATH, runtimeEmulation, ...invocations);

  app.use(notFound);
  app.use(errorHandler(config));
  return app;
}

import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { WORKER_LIVENESS_PATH } from '../paths';
import { WORKER_SNAPSHOT_PATH, type WorkerMetrics } from '../metrics/worker-metrics';
import { ModelNotReadyError } from '../errors';
import { errorHandler, methodNotAllowed, notFound } from './error-handler';
import { executionParameters } from './execution-parameters';
import type { WorkObserver } from './admission';
import { invocationRoutes, type PipelineSource } from './invocations';
import type { ModelState } from './model-state';
import { multiModelRoutes, type MultiModelRouting } from './multi-model';
import { requestLog } from './request-log';
import { RUNTIME_PATH, runtimeEmulation } from './runtime-emulation';

export interface AppDependencies {
  readonly config: Config;
  readonly state: ModelState;
  readonly logger: Logger;
  /** Counted and exposed when MODEL_SERVER_METRICS is on. */
  readonly metrics?: WorkerMetrics | undefined;
  /** A multi-model endpoint's models (SAGEMAKER_MULTI_MODEL); `state` then stays unused. */
  readonly multiModel?: MultiModelRouting | undefined;
  /** Told of each invocation's work from its admission until it settles, after a 504 too. */
  readonly work?: WorkObserver | undefined;
}

/** The one model of a single-model worker, once it is loaded. */
function loadedModel(state: ModelState): PipelineSource {
  return () => {
    const pipeline = state.pipeline;
    if (!pipeline) throw new ModelNotReadyError(state.failure);
    return { pipeline, release: () => undefined };
  };
}

/**
 * The worker's HTTP contract: GET /ping and POST /invocations (plus the InvokeEndpoint path
 * for local emulation); everything else is a JSON 404/405.
 */
export function createApp({ config, state, logger, metrics, multiModel, work }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get(WORKER_LIVENESS_PATH, (_req, res) => {
    res.json({ alive: true });
  });
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

  // /ping never touches a model: it only reports the state the worker is in.
  app.get('/ping', (_req, res) => {
    if (multiModel) {
      res.json({ status: 'healthy', models: multiModel.models.count });
      return;
    }
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

  app.get('/execution-parameters', executionParameters(config));
  app.all('/execution-parameters', methodNotAllowed(['GET']));
  const invocations = invocationRoutes(config, metrics, work);
  if (multiModel) {
    multiModelRoutes(app, invocations, multiModel);
  } else {
    const handlers = invocations(loadedModel(state));
    app.post('/invocations', ...handlers);
    app.all('/invocations', methodNotAllowed(['POST']));
    app.post(RUNTIME_PATH, runtimeEmulation, ...handlers);
  }

  app.use(notFound);
  app.use(errorHandler(config));
  return app;
}

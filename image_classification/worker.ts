import { rmSync } from 'node:fs';
import http from 'node:http';
import { loadConfig, type Config } from './config';
import { deadline } from './deadline';
import { LoadTimeoutError, publicStartupFailure } from './errors';
import { createApp } from './http/app';
import { answerClientError, MAX_REQUEST_HEADER_BYTES } from './http/client-errors';
import { ModelState } from './http/model-state';
import { createLogger, type Logger } from './logger';
import { resolveModelDir } from './model/model-dir';
import { workerSocketPath } from './paths';
import { HandlerPipeline } from './handler/pipeline';
import { WorkerMetrics } from './metrics/worker-metrics';
import { configureOnnxModels } from './runtime/onnx-model';
import { pipelineOptions, sessionOptions } from './settings';
import { SOCKET_DIR_ENV } from './worker-env';

/**
 * One pm2 worker: loads and warms the model, then listens on its own unix socket behind
 * nginx (or on the port when run alone). Until then its socket refuses connections, so
 * nginx sends requests to a ready worker (a refused connect is always safe to retry) and,
 * when none is ready, answers 503 itself. A model that cannot load still opens the socket,
 * with /ping at 503 and the reason, rather than a crash-restart loop that hides the cause.
 */

/**
 * Resolve, load and warm the model within MODEL_SERVER_LOAD_TIMEOUT. The timer also keeps the
 * event loop alive: a handler whose modelFn never settles would otherwise let the worker exit
 * 0 and pm2 restart it in a loop, with no reason given anywhere.
 */
async function loadModel(
  config: Config,
  state: ModelState,
  logger: Logger,
  hooks: { onInferenceFailure: (error: Error) => void; metrics: WorkerMetrics | undefined },
): Promise<void> {
  const started = performance.now();
  const { onInferenceFailure, metrics } = hooks;
  const loading = (async () => {
    const { dir, source } = await resolveModelDir(config.modelDir, { maxBytes: config.maxModelBytes });
    // Served batches only: the warm-up's runs happen before the worker is ready.
    const onBatch = metrics ? (images: number) => state.status === 'ready' && metrics.batch(images) : undefined;
    const pipeline = await HandlerPipeline.load(dir, pipelineOptions(config, { onInferenceFailure, onBatch }), logger);
    return { dir, source, pipeline };
  })();
  const limit = deadline(config.loadTimeoutSeconds, () => new LoadTimeoutError(config.loadTimeoutSeconds));
  try {
    const { dir, source, pipeline } = await Promise.race([loading, limit.expired]);
    state.ready(pipeline);
    metrics?.modelLoaded((performance.now() - started) / 1000);
    logger.info(
      {
        modelDir: dir,
        source,
        handler: pipeline.summary.handlerFile ?? 'built-in',
        ...pipeline.summary.model,
        threads: config.ortIntraOpThreads,
        ms: Math.round(performance.now() - started),
      },
      'model loaded and warmed',
    );
  } catch (error) {
    // A load that finishes after its timeout is not served: release what it holds.
    void loading.then(
      ({ pipeline }) => pipeline.close(),
      () => undefined,
    );
    const failure = publicStartupFailure(error, 'model_load_failed');
    state.fail(failure);
    logger.error({ ...failure, err: error }, 'model failed to load; /ping will answer 503');
  } finally {
    limit.clear();
  }
}

function listen(server: http.Server, config: Config): string {
  const socketDir = process.env[SOCKET_DIR_ENV];
  if (!socketDir) {
    server.listen(config.port);
    return `port ${config.port}`;
  }
  const socket = workerSocketPath(socketDir, process.env.NODE_APP_INSTANCE);
  // A worker killed with SIGKILL leaves its socket file behind; its replacement reclaims it.
  rmSync(socket, { force: true });
  server.listen({ path: socket, readableAll: true, writableAll: true });
  return socket;
}

function shutDownOnSignal(server: http.Server, state: ModelState, config: Config, logger: Logger): void {
  const stop = (signal: string) => {
    logger.info({ signal }, 'draining in-flight requests');
    // Stop the inference thread before exiting: exiting with a live ONNX Runtime session was
    // seen to abort in ORT's teardown ("terminate called after throwing Napi::Error").
    server.close(() => void (state.pipeline?.close() ?? Promise.resolve()).finally(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), (config.timeoutSeconds + 1) * 1000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Without its inference thread a worker can only fail requests: let pm2 replace it. */
function exitOnInferenceFailure(logger: Logger): (error: Error) => void {
  return (error) => {
    logger.fatal({ reason: error.message }, 'inference thread died; exiting for pm2 to restart the worker');
    process.exit(1);
  };
}

function main(): void {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { worker: Number(process.env.NODE_APP_INSTANCE ?? 0) });
  const onInferenceFailure = exitOnInferenceFailure(logger);
  configureOnnxModels({ session: sessionOptions(config), logLevel: config.logLevel, onFailure: onInferenceFailure });
  const state = new ModelState();
  const metrics = config.metrics ? new WorkerMetrics(process.env.NODE_APP_INSTANCE ?? '0') : undefined;
  const server = http.createServer(
    { maxHeaderSize: MAX_REQUEST_HEADER_BYTES, requireHostHeader: false },
    createApp({ config, state, logger, metrics }),
  );
  server.on('clientError', answerClientError);
  server.requestTimeout = config.timeoutSeconds * 1000;
  // Longer than nginx's upstream keepalive_timeout (60 s), so nginx always closes first.
  server.keepAliveTimeout = 75_000;
  shutDownOnSignal(server, state, config, logger);
  void loadModel(config, state, logger, { onInferenceFailure, metrics }).then(() =>
    logger.info({ listen: listen(server, config), status: state.status }, 'worker listening'),
  );
}

if (require.main === module) main();

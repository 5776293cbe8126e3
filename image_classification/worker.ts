import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadConfig, type Config } from './config';
import { deadline } from './deadline';
import { LoadTimeoutError, publicStartupFailure, type StartupCode, type StartupFailure } from './errors';
import { answerClientError, MAX_REQUEST_HEADER_BYTES } from './http/client-errors';
import { ModelState } from './http/model-state';
import { createLogger, type Logger } from './logger';
import { isModelSource, resolveModelDir, type ModelSource } from './model/model-dir';
import { managerSocketPath, registryFilePath, workerPidPath, workerSocketPath } from './paths';
import { HandlerPipeline, type PipelineOptions } from './handler/pipeline';
import type { MultiModelRouting } from './http/multi-model';
import { firstUseLoader } from './multi-model/first-use';
import { WorkerModels } from './multi-model/worker-models';
import { WorkerMetrics } from './metrics/worker-metrics';
import { idleMemoryTrim } from './memory-trim';
import { configureOnnxModels } from './runtime/onnx-model';
import { archiveLimits, modelLoadWaitMs, pipelineOptions, sessionOptions } from './settings';
import { MODEL_FAILURE_ENV, MODEL_SOURCE_ENV, SOCKET_DIR_ENV } from './worker-env';
import { workerLogDestination } from './worker-log-channel';
import { exitWithSupervisor } from './worker-supervisor';

/**
 * One pm2 worker: loads and warms the model, then listens on its own unix socket behind
 * nginx (or on the port when run alone). Until then its socket refuses connections, so
 * nginx sends requests to a ready worker (a refused connect is always safe to retry) and,
 * when none is ready, answers 503 itself. A model that cannot load still opens the socket,
 * with /ping at 503 and the reason, rather than a crash-restart loop that hides the cause.
 */

/** A worker with no request in flight for this long gives its freed C heap back (memory-trim.ts). */
const IDLE_TRIM_MS = 1000;

type LoadHooks = { onInferenceFailure: (error: Error) => void; onBatch?: ((images: number) => void) | undefined };

/**
 * Load and warm one model directory's pipeline within MODEL_SERVER_LOAD_TIMEOUT. The timer also
 * keeps the event loop alive: a handler whose modelFn never settles would otherwise let the
 * worker exit 0 and pm2 restart it in a loop, with no reason given anywhere.
 */
async function loadPipelineWithin(config: Config, dir: string, options: PipelineOptions, logger: Logger): Promise<HandlerPipeline> {
  const loading = HandlerPipeline.load(dir, options, logger);
  const limit = deadline(config.loadTimeoutSeconds, () => new LoadTimeoutError(config.loadTimeoutSeconds));
  try {
    return await Promise.race([loading, limit.expired]);
  } catch (error) {
    // A load that finishes after its timeout is not served: release what it holds.
    void loading.then(
      (pipeline) => pipeline.close(),
      () => undefined,
    );
    throw error;
  } finally {
    limit.clear();
  }
}

/** Resolve, load and warm the single model; its failure is /ping's 503 with the reason. */
async function loadModel(
  config: Config,
  state: ModelState,
  logger: Logger,
  hooks: LoadHooks,
  metrics: WorkerMetrics | undefined,
  sourceFromServe: ModelSource | undefined,
): Promise<void> {
  const started = performance.now();
  try {
    const resolved = await resolveModelDir(config.modelDir, archiveLimits(config));
    const { dir } = resolved;
    const source = sourceFromServe ?? resolved.source;
    const pipeline = await loadPipelineWithin(config, dir, pipelineOptions(config, hooks), logger);
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
    failLoad(state, publicStartupFailure(error, 'model_load_failed'), logger, error);
  }
}

function failLoad(state: ModelState, failure: StartupFailure, logger: Logger, error?: unknown): void {
  state.fail(failure);
  logger.error({ ...failure, ...(error === undefined ? {} : { err: error }) }, 'model failed to load; /ping will answer 503');
}

/** Why serve could not make a model directory, when it could not (worker-env.ts). */
function modelFailureFromServe(): StartupFailure | undefined {
  const written = process.env[MODEL_FAILURE_ENV];
  if (written === undefined) return undefined;
  try {
    const { code, reason } = JSON.parse(written) as { code?: unknown; reason?: unknown };
    // serve wrote it from a StartupFailure.
    if (typeof code === 'string' && typeof reason === 'string') return { code: code as StartupCode, reason };
  } catch {
    // not serve's JSON: reported as below
  }
  return { code: 'model_load_failed', reason: 'serve could not make a model directory' };
}

/**
 * A multi-model worker's models: whatever serve's registry lists, each with its own handler
 * (its `code/`; SAGEMAKER_SUBMIT_DIRECTORY names one directory, so it does not apply here).
 */
function multiModelRouting(
  config: Config,
  runDir: string,
  logger: Logger,
  hooks: LoadHooks,
  metrics: WorkerMetrics | undefined,
): MultiModelRouting {
  const options = { ...pipelineOptions(config, hooks), submitDirectory: undefined };
  // model_load_seconds: the last model this worker loaded.
  const load = async (dir: string) => {
    const started = performance.now();
    const pipeline = await loadPipelineWithin(config, dir, options, logger);
    metrics?.modelLoaded((performance.now() - started) / 1000);
    return pipeline;
  };
  const models = new WorkerModels(registryFilePath(runDir), load, logger);
  const loadOnFirstUse = firstUseLoader(managerSocketPath(runDir), modelLoadWaitMs(config));
  return { models, loadOnFirstUse, waitSeconds: config.timeoutSeconds };
}

function modelSourceFromServe(): ModelSource | undefined {
  const source = process.env[MODEL_SOURCE_ENV];
  return source !== undefined && isModelSource(source) ? source : undefined;
}

/** On serve's socket for this instance in `runDir`, or on the port when run alone (no runDir). */
function listen(server: http.Server, config: Config, runDir: string | undefined, instance: string | undefined): string {
  if (!runDir) {
    server.listen(config.port);
    return `port ${config.port}`;
  }
  const socket = workerSocketPath(runDir, instance);
  // A worker killed with SIGKILL leaves its socket file behind; its replacement reclaims it.
  rmSync(socket, { force: true });
  // For serve's watchdog, which replaces a worker whose event loop has stopped (worker-watchdog.ts).
  writeFileSync(workerPidPath(runDir, instance), String(process.pid));
  server.listen({ path: socket, readableAll: true, writableAll: true });
  return socket;
}

function shutDownOnSignal(server: http.Server, close: () => Promise<void>, config: Config, logger: Logger): void {
  const stop = (signal: string) => {
    logger.info({ signal }, 'draining in-flight requests');
    // Stop the inference thread before exiting: exiting with a live ONNX Runtime session was
    // seen to abort in ORT's teardown ("terminate called after throwing Napi::Error").
    server.close(() => void close().finally(() => process.exit(0)));
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

async function main(): Promise<void> {
  const config = loadConfig();
  const runDir = process.env[SOCKET_DIR_ENV];
  const instance = process.env.NODE_APP_INSTANCE;
  const logger = createLogger(config.logLevel, { worker: Number(instance ?? 0) }, workerLogDestination(runDir, instance));
  exitWithSupervisor(logger);
  const onInferenceFailure = exitOnInferenceFailure(logger);
  configureOnnxModels({ session: sessionOptions(config), logLevel: config.logLevel, onFailure: onInferenceFailure });
  const state = new ModelState();
  const metrics = config.metrics ? new WorkerMetrics(instance ?? '0') : undefined;
  if (config.multiModel && !runDir) logger.warn('SAGEMAKER_MULTI_MODEL needs serve (its model manager); this worker serves one model');
  const multiModel =
    config.multiModel && runDir
      ? multiModelRouting(config, runDir, logger, { onInferenceFailure, onBatch: metrics?.batch.bind(metrics) }, metrics)
      : undefined;
  // Served batches only: the model's warm-up runs happen before it is ready (a multi-model
  // worker counts its models' warm-ups too: a few batches per load).
  const onBatch = metrics ? (images: number) => state.status === 'ready' && metrics.batch(images) : undefined;
  const failedInServe = modelFailureFromServe();
  // A multi-model worker (re)started by pm2 loads what serve's registry lists before it takes requests.
  const ready = multiModel
    ? multiModel.models.report()
    : failedInServe
      ? Promise.resolve(failLoad(state, failedInServe, logger))
      : loadModel(config, state, logger, { onInferenceFailure, onBatch }, metrics, modelSourceFromServe());
  // The HTTP stack (express, multer, pino-http) loads on this thread while the model's inference
  // thread loads ONNX Runtime and the session: started in that order, the two overlap.
  const { createApp } = await import('./http/app.js');
  // Idle means no response open and no invocation's work running: a decode goes on after its
  // request's 504 until libvips' own time limit stops it.
  const memoryTrim = idleMemoryTrim(IDLE_TRIM_MS, logger);
  const server = http.createServer(
    { maxHeaderSize: MAX_REQUEST_HEADER_BYTES, requireHostHeader: false },
    createApp({ config, state, logger, metrics, multiModel, work: memoryTrim }),
  );
  server.on('clientError', answerClientError);
  server.on('request', (_request: http.IncomingMessage, response: http.ServerResponse) => {
    memoryTrim.requestStarted();
    response.once('close', () => memoryTrim.requestEnded());
  });
  server.requestTimeout = config.timeoutSeconds * 1000;
  // Longer than nginx's upstream keepalive_timeout (60 s), so nginx always closes first.
  server.keepAliveTimeout = 75_000;
  const close = async () => {
    memoryTrim.close();
    await (multiModel ? multiModel.models.closeAll() : state.pipeline?.close());
  };
  shutDownOnSignal(server, close, config, logger);
  void ready.then(() => {
    logger.info(
      { listen: listen(server, config, runDir, instance), status: multiModel ? `${multiModel.models.count} models` : state.status },
      'worker listening',
    );
    // The model's load and warm-up left freed memory behind, like a burst of requests.
    memoryTrim.settled();
  });
}

if (require.main === module) void main();

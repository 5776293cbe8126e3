import { rmSync } from 'node:fs';
import http from 'node:http';
import { loadConfig, type Config } from './config';
import { createApp } from './http/app';
import { ModelState } from './http/model-state';
import { createLogger, type Logger } from './logger';
import { resolveModelDir } from './model/model-dir';
import { workerSocketPath } from './paths';
import { HandlerPipeline, pipelineOptions } from './handler/pipeline';
import { SOCKET_DIR_ENV } from './worker-env';

/**
 * One pm2 worker: loads and warms the model, then listens on its own unix socket behind
 * nginx (or on the port when run alone). Until then its socket refuses connections, so
 * nginx sends requests to a ready worker (a refused connect is always safe to retry) and,
 * when none is ready, answers 503 itself. A model that cannot load still opens the socket,
 * with /ping at 503 and the reason, rather than a crash-restart loop that hides the cause.
 */

async function loadModel(config: Config, state: ModelState, logger: Logger): Promise<void> {
  const started = performance.now();
  try {
    const { dir, source } = await resolveModelDir(config.modelDir);
    const pipeline = await HandlerPipeline.load(
      dir,
      pipelineOptions(config, (error) => {
        // Without its inference thread a worker can only fail requests: let pm2 replace it.
        logger.fatal({ reason: error.message }, 'inference thread died; exiting for pm2 to restart the worker');
        process.exit(1);
      }),
      logger,
    );
    state.ready(pipeline);
    logger.info(
      { modelDir: dir, source, handler: pipeline.handlerFile ?? 'built-in', ...pipeline.predictor?.info, threads: config.ortIntraOpThreads, ms: Math.round(performance.now() - started) },
      'model loaded and warmed',
    );
  } catch (error) {
    const reason = (error as Error).message;
    state.fail(reason);
    logger.error({ reason }, 'model failed to load; /ping will answer 503');
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

function main(): void {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { worker: Number(process.env.NODE_APP_INSTANCE ?? 0) });
  const state = new ModelState();
  const server = http.createServer(createApp({ config, state, logger }));
  server.requestTimeout = config.timeoutSeconds * 1000;
  // Longer than nginx's upstream keepalive_timeout (60 s), so nginx always closes first.
  server.keepAliveTimeout = 75_000;
  shutDownOnSignal(server, state, config, logger);
  void loadModel(config, state, logger).then(() => logger.info({ listen: listen(server, config), status: state.status }, 'worker listening'));
}

if (require.main === module) main();

import type { ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from './config';
import { ConfigError, publicStartupFailure } from './errors';
import { signalTied, spawnTiedToServe } from './child-lifetime';
import { parseNginxLine, parsePm2Line, relayLines, type LineSink } from './child-output';
import { createLogger, stdoutSink, type Logger } from './logger';
import { resolveModelDir } from './model/model-dir';
import type { ModelManager } from './multi-model/manager';
import { readNginxTemplate, renderNginxConfig, WEB_SOURCE_DIR } from './nginx-config';
import { probePublicPort } from './public-port';
import { makeRunDir, removeStaleRunDirs } from './run-dir';
import { memoryShortfall } from './memory-fit';
import { bringUpWorkers, drainNginx } from './nginx-process';
import { managerSocketPath, registryFilePath, workerSocketPath } from './paths';
import { archiveLimits, modelLoadWaitMs } from './settings';
import { spawnWorkers, type WorkersModel } from './pm2-process';
import { openWorkerLogFifos } from './worker-log-channel';
import { watchWorkers } from './worker-watchdog';

/**
 * The container entry point: nginx on the public port in front of a pm2-runtime cluster of
 * workers, one unix socket each. If either dies, serve exits non-zero so the orchestrator
 * (SageMaker, docker, systemd) restarts the container. SIGTERM drains: nginx stops
 * accepting and finishes in-flight requests, then the workers stop.
 */

/** How much longer than SAGEMAKER_MODEL_SERVER_TIMEOUT a worker may go without answering before it is replaced. */
const WORKER_STALL_MARGIN_SECONDS = 10;

interface Children {
  nginx: ChildProcess;
  workers: ChildProcess;
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signalTied(child, 'SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      // Its last lines may still be in the pipe to serve: relay them before serve exits.
      const flushed = setTimeout(resolve, 1000);
      child.once('close', () => {
        clearTimeout(flushed);
        resolve();
      });
    });
  });
}

function start(
  config: Config,
  model: WorkersModel | undefined,
  runDir: string,
  logger: Logger,
  stdout: LineSink,
  nginxConf: string,
): Children {
  const confFile = path.join(runDir, 'nginx.conf');
  writeFileSync(confFile, nginxConf);
  // Until a worker listens, its socket path is a plain file: nginx's connect is then refused
  // (logged as an error) rather than finding no file (logged as critical), and goes to the next.
  for (let i = 0; i < config.workers; i++) {
    const placeholder = workerSocketPath(runDir, String(i));
    writeFileSync(placeholder, '');
    // nginx's workers may run as another user: they must be allowed to try it.
    chmodSync(placeholder, 0o666);
  }
  openWorkerLogFifos(runDir, config.workers)?.forEach((fifo, worker) =>
    relayLines(fifo, stdout, config.logLevel, { component: 'worker', worker }, (line) => ({ level: 'warn', msg: line })),
  );
  const workers = spawnWorkers(config, model, runDir);
  const nginxArgs = ['-c', confFile, '-p', runDir, '-e', 'stderr'];
  const nginx = spawnTiedToServe(config.nginxBin, nginxArgs, { stdio: ['inherit', 'inherit', 'pipe'] });
  const [pm2, ofNginx] = [
    { component: 'pm2', pid: workers.pid },
    { component: 'nginx', pid: nginx.pid },
  ];
  relayLines(workers.stdout!, stdout, config.logLevel, pm2, (line) => parsePm2Line(line, 'info'));
  relayLines(workers.stderr!, stdout, config.logLevel, pm2, (line) => parsePm2Line(line, 'warn'));
  relayLines(nginx.stderr!, stdout, config.logLevel, ofNginx, parseNginxLine);
  logger.info(
    {
      port: config.port,
      workers: config.workers,
      threadsPerWorker: config.ortIntraOpThreads,
      workerPreload: config.mallocPreload ?? 'none',
      ...(model && 'dir' in model ? { modelDir: model.dir, source: model.source } : {}),
    },
    'serve started',
  );
  const shortfall = memoryShortfall(config.workers, process.constrainedMemory());
  if (shortfall) {
    logger.warn(
      shortfall,
      `${shortfall.workers} workers may need up to ${shortfall.peakMb} MB at peak, over this container's ${shortfall.limitMb} MB memory limit: ` +
        `set SAGEMAKER_MODEL_SERVER_WORKERS=${shortfall.fittingWorkers} or raise the limit (docs/limits.md)`,
    );
  }
  return { nginx, workers };
}

/** Stops everything on SIGTERM/SIGINT or when a child dies; returns whether it is stopping. */
function supervise(children: Children, config: Config, logger: Logger, cleanup: () => void, drain: () => Promise<void>): () => boolean {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining nginx, then the workers');
    await drain();
    children.nginx.kill('SIGQUIT');
    await waitForExit(children.nginx, (config.timeoutSeconds + 5) * 1000);
    children.workers.kill('SIGINT');
    await waitForExit(children.workers, (config.timeoutSeconds + 10) * 1000);
    cleanup();
    process.exit(0);
  };
  // Either child gone (or never started: a bad NGINX_BIN is an 'error' with no 'exit') means
  // nothing serves the port: stop the other and exit non-zero for the orchestrator.
  const failed = (name: keyof Children, details: object) => {
    if (stopping) return;
    logger.error({ child: name, ...details }, `${name} is not running; stopping serve`);
    stopping = true;
    for (const other of Object.values(children)) signalTied(other, 'SIGTERM');
    void Promise.all(Object.values(children).map((c) => waitForExit(c, 10_000))).then(() => {
      cleanup();
      process.exit(1);
    });
  };
  for (const [name, child] of Object.entries(children) as [keyof Children, ChildProcess][]) {
    child.once('error', (error) => failed(name, { err: error }));
    child.once('exit', (code, signal) => failed(name, { code, signal }));
  }
  // on, not once: npm passes a terminal's Ctrl-C on to serve, which has it from the terminal
  // too, and a second SIGINT with no listener left would kill serve mid-drain.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return () => stopping;
}

/**
 * A multi-model endpoint's manager: the one writer of the registry its workers read. Its modules
 * (express among them), like the metrics endpoint's, are loaded only when used: serve's own
 * start-up comes before the workers can start, so every module it loads delays the first /ping.
 */
async function startModelManager(config: Config, runDir: string, logger: Logger): Promise<ModelManager> {
  const [{ ModelManager }, { startManagementServer }, { defaultMemoryBudgetBytes }] = await Promise.all([
    import('./multi-model/manager.js'),
    import('./multi-model/management-server.js'),
    import('./multi-model/memory.js'),
  ]);
  const manager = new ModelManager(
    {
      root: config.modelsRoot,
      registryFile: registryFilePath(runDir),
      unpackDir: path.join(runDir, 'models'),
      workerSockets: Array.from({ length: config.workers }, (_, i) => workerSocketPath(runDir, String(i))),
      archive: archiveLimits(config),
      memoryBudgetBytes: config.modelsMemoryMb ? Math.floor(config.modelsMemoryMb * 2 ** 20) : defaultMemoryBudgetBytes(),
      workerTimeoutMs: modelLoadWaitMs(config),
    },
    logger,
  );
  startManagementServer(manager, managerSocketPath(runDir), logger);
  // A load under way ends at once, so nginx's drain is not held by it.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => manager.shutDown());
  return manager;
}

/**
 * The single model's directory for the workers, an archive unpacked into the run dir (so a
 * serve killed with SIGKILL leaves it where the next one removes it); or why there is none,
 * which every worker then reports on /ping, rather than serve exiting into a restart loop.
 */
async function workersModel(config: Config, runDir: string, logger: Logger): Promise<WorkersModel> {
  try {
    const { dir, source } = await resolveModelDir(config.modelDir, { ...archiveLimits(config), parentDir: runDir });
    return { dir, source };
  } catch (error) {
    const failure = publicStartupFailure(error, 'model_load_failed');
    logger.error({ ...failure, err: error }, 'no usable model directory');
    return { failure };
  }
}

/** /metrics goes through nginx to serve's socket unless it has a port of its own. */
function metricsPaths(config: Config, runDir: string): { refusalLog: string; metricsSocket?: string } {
  const refusalLog = path.join(runDir, 'refusals.log');
  return config.metricsPort ? { refusalLog } : { refusalLog, metricsSocket: path.join(runDir, 'metrics.sock') };
}

async function main(): Promise<void> {
  // SageMaker starts the container as `docker run IMAGE serve`, so `serve` may get itself as argument.
  const args = process.argv.slice(2).filter((arg) => arg !== 'serve');
  if (args.length > 0) {
    createLogger('error').fatal(
      `serve takes no arguments (got: ${args.join(' ')}); configure it with environment variables (see docs/configuration.md)`,
    );
    process.exit(2);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('error').fatal(error.message);
    process.exit(2);
  }
  const stdout = stdoutSink();
  // Each relayed stream waits for one 'drain' while stdout is behind: pm2's two, nginx's and a FIFO per worker.
  stdout.setMaxListeners(3 + config.workers);
  const logger = createLogger(config.logLevel, { component: 'serve' }, stdout);
  const publicPort = await probePublicPort(config.port);
  if (!publicPort.free) {
    logger.fatal(
      { port: config.port },
      `port ${config.port} is in use: another server (npm start, docker run -p) listens on it; stop it, or set SAGEMAKER_BIND_TO_PORT to another port`,
    );
    process.exit(1);
  }
  const stale = removeStaleRunDirs();
  if (stale.length > 0) logger.info({ removed: stale }, 'removed the run dirs of serves killed earlier');
  const runDir = makeRunDir();
  // A multi-model endpoint has no model of its own: its models come by name (POST /models).
  const manager = config.multiModel ? await startModelManager(config, runDir, logger) : undefined;
  const model = manager ? undefined : await workersModel(config, runDir, logger);
  // nginx's workers may run as another user and may not reach a checkout in a private home
  // directory: the demo page is served from a copy in the (world-readable) run dir.
  const webDir = path.join(runDir, 'web');
  if (config.demoPage) cpSync(WEB_SOURCE_DIR, webDir, { recursive: true });
  const metrics: Partial<ReturnType<typeof metricsPaths>> = config.metrics ? metricsPaths(config, runDir) : {};
  const managerSocket = manager ? managerSocketPath(runDir) : undefined;
  const template = await readNginxTemplate();
  const renderNginx = (readyWorkers: ReadonlySet<number> | undefined, draining = false) =>
    renderNginxConfig(template, config, {
      runDir,
      socketDir: runDir,
      webDir,
      managerSocket,
      ...metrics,
      readyWorkers,
      draining,
      ipv6: publicPort.ipv6,
    });
  // The run dir holds the unpacked models too.
  const cleanup = () => rmSync(runDir, { recursive: true, force: true });
  const children = start(config, model, runDir, logger, stdout, renderNginx(new Set()));
  const drain = () =>
    existsSync(path.join(runDir, 'nginx.pid'))
      ? drainNginx(children.nginx, runDir, () => renderNginx(undefined, true), (config.timeoutSeconds + 5) * 1000)
      : Promise.resolve();
  const isStopping = supervise(children, config, logger, cleanup, drain);
  bringUpWorkers(children.nginx, runDir, config.workers, renderNginx, isStopping);
  if (children.workers.pid !== undefined) {
    // A worker stuck for longer than any request may take serves no request again: replace it.
    const watchdog = { runDir, workers: config.workers, supervisorPid: children.workers.pid, isStopping };
    watchWorkers({ ...watchdog, stallSeconds: config.timeoutSeconds + WORKER_STALL_MARGIN_SECONDS }, logger);
  }
  if (metrics.refusalLog) {
    const { startMetricsEndpoint } = await import('./metrics/endpoint.js');
    const workerSockets = new Map(Array.from({ length: config.workers }, (_, i) => [String(i), workerSocketPath(runDir, String(i))]));
    const listen = metrics.metricsSocket ? { socket: metrics.metricsSocket } : { port: config.metricsPort! };
    const reopenNginxLogs = () => children.nginx.kill('SIGUSR1');
    startMetricsEndpoint({ workerSockets, refusalLog: metrics.refusalLog, reopenNginxLogs, listen }, logger);
  }
}

void main();

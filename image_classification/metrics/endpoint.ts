import http from 'node:http';
import { errorBody, InternalError, MethodNotAllowedError, NotFoundError, type InferenceError } from '../errors';
import type { Logger } from '../logger';
import { ContainerMetrics } from './container-metrics';
import { RefusalLog } from './refusal-log';
import { WORKER_SNAPSHOT_PATH } from './worker-metrics';

/** How often the supervisor collects the workers' counters and nginx's refusals between scrapes. */
const COLLECT_INTERVAL_MS = 2000;

export interface MetricsEndpointOptions {
  /** pm2 slot → the worker's unix socket. */
  readonly workerSockets: ReadonlyMap<string, string>;
  /** The file nginx appends its refusals to. */
  readonly refusalLog: string;
  /** Tell nginx to reopen its logs (after the refusal log is rotated). */
  readonly reopenNginxLogs: () => void;
  /** A unix socket that nginx proxies /metrics to, or a TCP port of its own. */
  readonly listen: { readonly socket: string } | { readonly port: number };
}

function answer(res: http.ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);
}

/** The same JSON error body as every other answer of the server. */
function answerError(res: http.ServerResponse, error: InferenceError): void {
  answer(res, error.status, JSON.stringify(errorBody(error)), 'application/json');
}

/** The supervisor's GET /metrics: the whole container in Prometheus' text format. */
export function startMetricsEndpoint(options: MetricsEndpointOptions, logger: Logger): http.Server {
  const metrics = new ContainerMetrics(options.workerSockets, WORKER_SNAPSHOT_PATH);
  const refusals = new RefusalLog(options.refusalLog, metrics.registry, options.reopenNginxLogs);
  metrics.start(COLLECT_INTERVAL_MS);
  refusals.start(COLLECT_INTERVAL_MS);
  const server = http.createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path !== '/metrics') return answerError(res, new NotFoundError('no such route; use GET /metrics'));
    if (req.method !== 'GET') return answerError(res, new MethodNotAllowedError(req.method ?? '', ['GET']));
    metrics.render().then(
      (text) => answer(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8'),
      (failure: unknown) => {
        logger.error({ err: failure }, 'metrics collection failed');
        answerError(res, new InternalError({ cause: failure }));
      },
    );
  });
  // Metrics are secondary: a port that cannot be bound is logged, and serving goes on.
  server.on('error', (failure) => logger.error({ err: failure }, 'the metrics endpoint cannot listen'));
  server.on('close', () => {
    metrics.stop();
    refusals.stop();
  });
  if ('socket' in options.listen) server.listen({ path: options.listen.socket, readableAll: true, writableAll: true });
  else server.listen(options.listen.port);
  return server;
}

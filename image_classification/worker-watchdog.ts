import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Logger } from './logger';
import { WORKER_LIVENESS_PATH, workerPidPath, workerSocketPath } from './paths';
import { parentPid } from './proc-stat';

/**
 * A worker whose event loop has stopped (a handler's endless synchronous loop, a native call
 * that never returns) still accepts connections: its socket's backlog takes them, nginx sends it
 * requests that only time out, and pm2, which watches for exits, never replaces it. serve asks
 * each worker's event loop for a sign of life every PROBE_MS; a worker that accepts connections
 * but has answered none for `stallSeconds` is killed, and pm2 starts another.
 */
const PROBE_MS = 2000;

/** answered: the event loop turns; closed: nothing listens (loading, restarting, stopping); silent: accepted, no answer. */
type Probe = 'answered' | 'closed' | 'silent';

function probe(socketPath: string): Promise<Probe> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: WORKER_LIVENESS_PATH, timeout: PROBE_MS }, (response) => {
      response.resume();
      resolve('answered');
    });
    request.once('timeout', () => {
      resolve('silent');
      request.destroy();
    });
    request.once('error', () => resolve('closed'));
  });
}

/** The worker's pid from the file it wrote as it began listening, if that process is still one of pm2's. */
function workerPid(runDir: string, instance: number, supervisorPid: number): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(workerPidPath(runDir, String(instance)), 'utf8'));
  } catch {
    return undefined;
  }
  // A pid since reused by an unrelated process is left alone.
  return parentPid(pid) === supervisorPid ? pid : undefined;
}

export interface WatchdogOptions {
  readonly runDir: string;
  readonly workers: number;
  /** pm2-runtime's pid: the workers' parent. */
  readonly supervisorPid: number;
  readonly stallSeconds: number;
  readonly isStopping: () => boolean;
}

export function watchWorkers({ runDir, workers, supervisorPid, stallSeconds, isStopping }: WatchdogOptions, logger: Logger): void {
  const lastAlive = Array.from({ length: workers }, () => Date.now());
  const check = async (instance: number) => {
    if ((await probe(workerSocketPath(runDir, String(instance)))) !== 'silent') {
      lastAlive[instance] = Date.now();
      return;
    }
    const stalledSeconds = Math.round((Date.now() - lastAlive[instance]!) / 1000);
    if (stalledSeconds < stallSeconds || isStopping()) return;
    const pid = workerPid(runDir, instance, supervisorPid);
    if (pid === undefined) return;
    logger.error(
      { worker: instance, pid, stalledSeconds },
      'worker has answered nothing while accepting connections; killing it for pm2 to restart',
    );
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    lastAlive[instance] = Date.now();
  };
  const round = async () => {
    if (isStopping()) return;
    await Promise.all(lastAlive.map((_, instance) => check(instance)));
    setTimeout(() => void round(), PROBE_MS).unref();
  };
  setTimeout(() => void round(), PROBE_MS).unref();
}

import { existsSync } from 'node:fs';
import path from 'node:path';

/** This package's name, as handler modules require it. */
export const PACKAGE_NAME = 'sagemaker-image-classification';

/** The directory holding package.json, whether running from source (tsx) or from dist/. */
export function packageRoot(start = __dirname): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** One unix socket per pm2 worker instance, in the run directory `serve` creates. */
export function workerSocketPath(socketDir: string, instance: string | undefined): string {
  return path.join(socketDir, `worker-${Number(instance ?? 0)}.sock`);
}

/** The pid of the worker listening on workerSocketPath(socketDir, instance), written as it starts listening. */
export function workerPidPath(socketDir: string, instance: string | undefined): string {
  return path.join(socketDir, `worker-${Number(instance ?? 0)}.pid`);
}

/**
 * A worker's liveness for serve's watchdog: answered by the event loop before anything else
 * (not logged, not counted). nginx routes no such path to the workers.
 */
export const WORKER_LIVENESS_PATH = '/-/alive';

/** Serve's model manager (multi-model endpoints): the socket nginx routes /models to, in the run directory. */
export function managerSocketPath(runDir: string): string {
  return path.join(runDir, 'models.sock');
}

/** The models every worker serves (multi-model endpoints), written by serve's model manager. */
export function registryFilePath(runDir: string): string {
  return path.join(runDir, 'models.json');
}

import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { workerSocketPath } from './paths';
import { parentPid } from './proc-stat';

/** serve's control of its nginx: workers brought up as they become ready, and a drain before it stops. */

/**
 * nginx starts with every worker `down`, so the backup answers `503 unavailable` without a
 * refused connect in the log. A worker opens its socket once its model is loaded; then nginx
 * is reloaded (SIGHUP: new config, old connections finish) with that worker up. After that a
 * restarted worker is refused and retried elsewhere, as it should be, and logged.
 */
export function bringUpWorkers(
  nginx: ChildProcess,
  runDir: string,
  workers: number,
  render: (ready: ReadonlySet<number>) => string,
  isStopping: () => boolean,
): void {
  const ready = new Set<number>();
  const poll = async () => {
    // nginx writes its pid file after installing its signal handlers: before that, SIGHUP kills it.
    if (isStopping() || !existsSync(path.join(runDir, 'nginx.pid'))) return;
    const waiting = Array.from({ length: workers }, (_, i) => i).filter((i) => !ready.has(i));
    const found = await Promise.all(waiting.map((i) => accepts(workerSocketPath(runDir, String(i)))));
    if (isStopping() || !found.includes(true)) return;
    waiting.forEach((worker, index) => found[index] && ready.add(worker));
    writeFileSync(path.join(runDir, 'nginx.conf'), render(ready));
    nginx.kill('SIGHUP');
  };
  // A probe is one connect to a unix socket: polling often costs nothing measurable and lets
  // the first ready worker take traffic within a few ms of listening.
  const next = () => {
    if (ready.size < workers && !isStopping()) setTimeout(() => void poll().then(next), 20).unref();
  };
  next();
}

/** Whether something accepts connections on a unix socket (a worker that finished loading). */
function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path: socketPath }, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** nginx's worker processes: the children of its master, from /proc (no procps in a slim image). */
function nginxWorkerCount(master: ChildProcess): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && parentPid(entry) === master.pid) count++;
  }
  return count;
}

/**
 * Close the public port and let the requests already in nginx finish. nginx's own graceful stop
 * (SIGQUIT) closes every listening socket at once, its admission socket too, so a request
 * still between the public server and the admission server would get a 502. A reload with
 * the port moved to an unused socket closes only the port; the old nginx worker finishes its
 * requests through the admission socket, which stays open, and exits when they are done.
 */
export async function drainNginx(nginx: ChildProcess, runDir: string, renderDraining: () => string, waitMs: number): Promise<void> {
  writeFileSync(path.join(runDir, 'nginx.conf'), renderDraining());
  nginx.kill('SIGHUP');
  const deadline = Date.now() + waitMs;
  // The reload starts a new worker before the old one leaves: done when only one is left.
  await new Promise((resolve) => setTimeout(resolve, 200));
  while (Date.now() < deadline && nginxWorkerCount(nginx) > 1) await new Promise((resolve) => setTimeout(resolve, 100));
}

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/** util-linux's, in Debian's and RHEL's base systems (the image's node:*-slim base included). */
export const SETPRIV = '/usr/bin/setpriv';

/**
 * Starts one of serve's children (nginx, pm2-runtime) in a process group of its own, tied to
 * serve's life:
 * - its own group: a terminal's Ctrl-C signals every process of the foreground group, and
 *   SIGINT is nginx's fast shutdown, which would drop the requests in flight. Only serve gets
 *   it then, and drains as on SIGTERM;
 * - tied: setpriv gives it a parent-death signal (SIGTERM), so a serve killed with SIGKILL takes
 *   nginx, pm2 and through pm2 the workers with it, instead of leaving nginx on the port.
 * Without setpriv the child stays in serve's group, where a signal to the group still reaches it.
 */
export function spawnTiedToServe(command: string, args: readonly string[], options: SpawnOptions, setpriv = SETPRIV): ChildProcess {
  if (!existsSync(setpriv)) return spawn(command, args, options);
  return spawn(setpriv, ['--pdeathsig', 'SIGTERM', '--', command, ...args], { ...options, detached: true });
}

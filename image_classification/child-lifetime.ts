import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/** util-linux's, in Debian's and RHEL's base systems (the image's node:*-slim base included). */
export const SETPRIV = '/usr/bin/setpriv';

const pdeathsigSupport = new Map<string, boolean>();

/** Whether `setpriv` is there and has --pdeathsig (older util-linux releases lack it). */
function canTie(setpriv: string): boolean {
  let supported = pdeathsigSupport.get(setpriv);
  if (supported === undefined) {
    try {
      supported =
        existsSync(setpriv) &&
        execFileSync(setpriv, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('--pdeathsig');
    } catch {
      supported = false;
    }
    pdeathsigSupport.set(setpriv, supported);
  }
  return supported;
}

/**
 * Starts one of serve's children (nginx, pm2-runtime) in a process group of its own, tied to
 * serve's life:
 * - its own group: a terminal's Ctrl-C signals every process of the foreground group, and
 *   SIGINT is nginx's fast shutdown, which would drop the requests in flight. Only serve gets
 *   it then, and drains as on SIGTERM;
 * - tied: setpriv gives it a parent-death signal (SIGTERM), so a serve killed with SIGKILL takes
 *   nginx, pm2 and through pm2 the workers with it, instead of leaving nginx on the port.
 * Without a setpriv that can (none, or one without --pdeathsig) the child stays in serve's
 * group, where a signal to the group still reaches it.
 */
export function spawnTiedToServe(command: string, args: readonly string[], options: SpawnOptions, setpriv = SETPRIV): ChildProcess {
  if (!canTie(setpriv)) return spawn(command, args, options);
  return spawn(setpriv, ['--pdeathsig', 'SIGTERM', '--', command, ...args], { ...options, detached: true });
}

/**
 * Signals a child started by spawnTiedToServe and the rest of its process group: an nginx
 * master's workers stay in its group, and keep the port, when the master itself was killed.
 */
export function signalTied(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Not a group of its own (no setpriv), or gone already.
    child.kill(signal);
  }
}

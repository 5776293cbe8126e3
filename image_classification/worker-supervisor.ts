import { constants } from 'node:os';
import type { Logger } from './logger';

/** prctl's option that sets this process's parent-death signal (linux/prctl.h). */
const PR_SET_PDEATHSIG = 1;

/**
 * Asks the kernel to SIGKILL this process when its parent (pm2) exits. It works where the IPC
 * channel's 'disconnect' cannot: in a worker whose event loop never turns again (a handler's
 * endless loop, a native call that never returns). Loaded after start-up begins, through koffi
 * (as the memory release is), so a worker's first answer does not wait for it.
 */
async function dieWithParent(parentPid: number, logger: Logger): Promise<void> {
  try {
    const koffi = await import('koffi');
    const prctl = koffi.load('libc.so.6').func('int prctl(int option, ...)');
    if (prctl(PR_SET_PDEATHSIG, 'unsigned long', constants.signals.SIGKILL) !== 0) throw new Error('prctl(PR_SET_PDEATHSIG) refused');
  } catch (error) {
    // Not glibc Linux: the channel's close is all there is.
    logger.debug({ reason: (error as Error).message }, 'no parent-death signal; the worker exits when pm2 closes its channel');
    return;
  }
  // pm2 gone before the signal was set: none will come.
  if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
}

/**
 * pm2 talks to its workers over an IPC channel, which closes when pm2 is gone (killed with
 * serve, or crashed), possibly before this worker got here. A worker left behind would hold its
 * socket, model and CPU with nothing to ever stop it: it ends itself with SIGKILL, because a
 * normal exit flushes the log to a stdout whose reader may be gone, and that can hang or throw.
 * Run alone (started without a channel), there is nothing to watch.
 */
export function exitWithSupervisor(logger: Logger): void {
  if (typeof process.send !== 'function') return;
  const parentPid = process.ppid;
  const end = () => {
    // pm2 itself emits 'disconnect' on an uncaught exception, just before it exits the worker.
    if (process.connected) return;
    try {
      logger.warn('the supervisor (pm2) is gone; exiting');
    } catch {
      // stdout went with pm2
    }
    process.kill(process.pid, 'SIGKILL');
  };
  if (!process.connected) end();
  else process.once('disconnect', end);
  void dieWithParent(parentPid, logger);
}

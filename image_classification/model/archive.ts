import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { UnpackJob, UnpackOutcome } from './unpack-thread';

/** The unpacking thread's heap: entries stream through it, so a little is plenty. */
const THREAD_HEAP_MB = 64;

/**
 * Run one unpack on its own thread (unpack-thread.ts) and wait for it, at most `timeoutMs` or
 * until `signal` aborts: undefined when the archive unpacked, else why not. The thread is
 * terminated before this settles, so nothing writes into `job.dir` afterwards.
 */
export function unpackOnThread(job: UnpackJob, timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const thread = new Worker(path.join(__dirname, 'unpack-thread.js'), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    let settled = false;
    const settle = (failure: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void thread.terminate().finally(() => resolve(failure));
    };
    const timer = setTimeout(() => settle(`it did not unpack within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onAbort = () => settle('the server is shutting down');
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    thread.once('message', (outcome: UnpackOutcome) => settle(outcome.ok ? undefined : outcome.message));
    thread.once('error', (error) => settle(`unpacking failed (${error.message})`));
    thread.once('exit', () => settle('unpacking stopped'));
  });
}

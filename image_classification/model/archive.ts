import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tar from 'tar';
import type { UnpackJob, UnpackOutcome } from './unpack-thread';

/** A fixed mtime and no owner fields, so the same files always pack to the same bytes. */
const EPOCH = new Date('2020-01-01T00:00:00Z');

/** Pack a model directory's contents (not the directory itself) as model.tar.gz, as SageMaker expects. */
export async function packDirectory(dir: string, out: string): Promise<void> {
  const entries = (await readdir(dir)).sort();
  await tar.c({ gzip: true, file: out, cwd: dir, portable: true, mtime: EPOCH }, entries);
}

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

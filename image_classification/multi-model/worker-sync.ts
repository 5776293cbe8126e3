import type { Logger } from '../logger';
import { requestJson } from './socket-client';
import type { WorkerModelsReport } from './worker-models';

/** The internal path each worker answers serve's sync on (over its socket; nginx never routes it). */
export const WORKER_SYNC_PATH = '/__models/sync';

/**
 * One worker's answer to a sync: its report; `refused` when nothing listens on its socket (a
 * worker starting or restarting); `lost` when it took the request and never answered (it
 * exited meanwhile, or passed the time limit).
 */
export type SyncOutcome = { readonly kind: 'report'; readonly report: WorkerModelsReport } | { readonly kind: 'refused' | 'lost' };

export interface SyncOptions {
  readonly timeoutMs: number;
  /** Retry a worker that refuses until it answers or `timeoutMs` has passed (it is starting). */
  readonly waitForEvery: boolean;
  /** Called at once when a worker is lost, before the others have answered. */
  readonly onLost?: () => void;
}

const RETRY_MS = 250;

/** Have every worker load and unload to match the registry; each one's outcome, in socket order. */
export function syncWorkers(sockets: readonly string[], options: SyncOptions, logger: Logger): Promise<SyncOutcome[]> {
  const deadline = Date.now() + options.timeoutMs;
  const syncOne = async (socket: string): Promise<SyncOutcome> => {
    for (;;) {
      const left = Math.max(1, deadline - Date.now());
      const outcome = await requestJson(socket, 'POST', WORKER_SYNC_PATH, undefined, left).then(
        (answer): SyncOutcome => (answer.status === 200 ? { kind: 'report', report: answer.body as WorkerModelsReport } : { kind: 'lost' }),
        (error: NodeJS.ErrnoException): SyncOutcome => ({
          kind: error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'refused' : 'lost',
        }),
      );
      if (outcome.kind === 'refused' && options.waitForEvery && Date.now() + RETRY_MS < deadline) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      if (outcome.kind !== 'report') logger.warn({ socket, outcome: outcome.kind }, 'a worker did not answer the model sync');
      if (outcome.kind === 'lost') options.onLost?.();
      return outcome;
    }
  };
  return Promise.all(sockets.map(syncOne));
}

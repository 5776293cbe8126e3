import { InferenceError, WorkersUnavailableError } from '../errors';
import { ENSURE_PATH } from './management-server';
import { requestJson } from './socket-client';

/**
 * A worker's way to have serve load a model on first use (the local emulation of a
 * multi-model endpoint's InvokeEndpoint): resolves once every worker that answered has it,
 * rejects with serve's own error (404 no such model, 507 no room, …).
 */
export function firstUseLoader(managerSocket: string, timeoutMs: number): (name: string, url: string) => Promise<void> {
  return async (name, url) => {
    const answer = await requestJson(managerSocket, 'POST', ENSURE_PATH, { model_name: name, url }, timeoutMs).catch(() => {
      throw new WorkersUnavailableError();
    });
    if (answer.status === 200) return;
    const error = (answer.body as { error?: { code?: unknown; message?: unknown } }).error;
    throw new InferenceError(
      answer.status,
      String(error?.code ?? 'model_load_failed'),
      String(error?.message ?? 'the model could not be loaded'),
    );
  };
}

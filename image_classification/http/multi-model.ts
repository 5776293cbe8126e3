import type { Express, Request, RequestHandler } from 'express';
import { deadline } from '../deadline';
import { ModelLoadingError, ModelNotLoadedError, NotFoundError, RequestTimeoutError } from '../errors';
import { WORKER_SYNC_PATH } from '../multi-model/worker-sync';
import { checkModelName, TARGET_MODEL, targetModelName } from '../multi-model/names';
import type { HeldPipeline } from '../handler/pipeline';
import type { WorkerModels } from '../multi-model/worker-models';
import { methodNotAllowed } from './error-handler';
import type { PipelineSource } from './invocations';
import { RUNTIME_PATH, runtimeEmulation } from './runtime-emulation';

export interface MultiModelRouting {
  readonly models: WorkerModels;
  /** Have serve load a model that no worker has yet (first use through InvokeEndpoint). */
  readonly loadOnFirstUse: (name: string, url: string) => Promise<void>;
  /** How long a first use may wait for its model (SAGEMAKER_MODEL_SERVER_TIMEOUT). */
  readonly waitSeconds: number;
}

/**
 * InvokeEndpoint with TargetModel, as SageMaker serves it: the model named by the whole header
 * (`foo.tar.gz` is the model `foo.tar.gz`, from that path in the models root), loaded on first
 * use, waiting for a load already under way rather than answering 503. A name loaded from
 * another location is serve's to judge (the same real path, or 409): never answered unasked.
 */
function targetModel({ models, loadOnFirstUse, waitSeconds }: MultiModelRouting): PipelineSource {
  return async (req: Request): Promise<HeldPipeline> => {
    const target = req.get(TARGET_MODEL);
    const name = targetModelName(target);
    try {
      if (models.urlOf(name) === target) return models.acquire(name);
    } catch (error) {
      if (!(error instanceof ModelNotLoadedError || error instanceof ModelLoadingError)) throw error;
    }
    const limit = deadline(waitSeconds, () => new RequestTimeoutError(waitSeconds));
    try {
      const load = loadOnFirstUse(name, target!).then(() => models.loaded(name));
      // A load that outlives this request goes on for the next one; its failure is theirs to see.
      load.catch(() => undefined);
      await Promise.race([load, limit.expired]);
    } finally {
      limit.clear();
    }
    return models.acquire(name);
  };
}

/**
 * A worker's routes on a multi-model endpoint (SAGEMAKER_MULTI_MODEL): invocations by model
 * name, InvokeEndpoint with TargetModel, and serve's sync call on the worker's own socket.
 * Loading, listing and unloading are serve's (multi-model/management-server.ts).
 */
export function multiModelRoutes(
  app: Express,
  invocations: (source: PipelineSource) => RequestHandler[],
  routing: MultiModelRouting,
): void {
  const { models } = routing;
  // Only on the worker's socket: nginx routes no /__models path to a worker.
  app.post(WORKER_SYNC_PATH, async (_req, res) => {
    res.json(await models.report());
  });
  app.post('/models/:name/invoke', ...invocations((req) => models.acquire(checkModelName(req.params.name))));
  app.all('/models/:name/invoke', methodNotAllowed(['POST']));
  app.post(RUNTIME_PATH, runtimeEmulation, ...invocations(targetModel(routing)));
  app.all('/invocations', () => {
    throw new NotFoundError(
      'this endpoint hosts many models (SAGEMAKER_MULTI_MODEL=true): POST /models/{name}/invoke, or InvokeEndpoint with TargetModel',
    );
  });
}

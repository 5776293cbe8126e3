import { InferenceError } from './request';
import type { StartupFailure } from './startup';

/**
 * What the multi-model API (SAGEMAKER_MULTI_MODEL) answers beyond a single-model server:
 * the statuses SageMaker's multi-model contract gives meaning to (409 loaded, 404 unknown,
 * 507 no room: SageMaker then unloads idle models and retries).
 */

export class ModelAlreadyLoadedError extends InferenceError {
  constructor(name: string) {
    super(409, 'model_already_loaded', `model '${name}' is already loaded (or loading); unload it first to replace it`);
  }
}

export class ModelNotLoadedError extends InferenceError {
  constructor(name: string) {
    super(404, 'model_not_loaded', `model '${name}' is not loaded; load it with POST /models`);
  }
}

/** A name already loaded from another location (a TargetModel never gets another model's answer). */
export class ModelNameConflictError extends InferenceError {
  constructor(name: string) {
    super(409, 'model_name_conflict', `model '${name}' is loaded from another location; unload it first to load this one`);
  }
}

/** A worker exited while it loaded the model (a crash, or memory ran out): the load fails, the model is unlisted. */
export class WorkerLostDuringLoadError extends InferenceError {
  constructor(name: string) {
    super(
      500,
      'model_load_failed',
      `a worker exited while loading model '${name}' (it crashed or ran out of memory); the model is not loaded`,
    );
  }
}

/** serve is stopping: loads under way end, new ones are refused. */
export class ShuttingDownError extends InferenceError {
  constructor() {
    super(503, 'unavailable', 'the server is shutting down');
  }
}

/** The location a load names does not exist. */
export class ModelLocationNotFoundError extends InferenceError {
  constructor(message: string) {
    super(404, 'model_not_found', message);
  }
}

/** A model that is still loading in this worker (or again, after a worker restart): retry shortly. */
export class ModelLoadingError extends InferenceError {
  constructor(name: string) {
    super(503, 'model_loading', `model '${name}' is loading; retry shortly`);
  }
}

export class InsufficientMemoryError extends InferenceError {
  constructor(message: string) {
    super(507, 'insufficient_memory', message);
  }
}

/** No worker answered serve's sync (all starting or restarting): nothing could load the model. */
export class WorkersUnavailableError extends InferenceError {
  constructor() {
    super(503, 'unavailable', 'no worker is ready to load the model; retry shortly');
  }
}

/** Why a model could not load, as the load call's answer: the start-up code and its public reason. */
export class ModelLoadFailedError extends InferenceError {
  constructor(failure: StartupFailure) {
    super(loadFailureStatus(failure), failure.code, failure.reason);
  }
}

/**
 * A missing model is 404; a model that is not in this product's format (a graph ONNX Runtime
 * cannot read included) or whose handler fails, 400; a failure of the server's own (an
 * unexpected error while loading, the GPU, time) a 5xx; an allocation failure while loading is
 * 507, like a refused budget.
 */
function loadFailureStatus({ code, reason }: StartupFailure): number {
  if (code === 'model_not_found') return 404;
  if (/bad_alloc|Failed to allocate|out of memory|ENOMEM/i.test(reason)) return 507;
  if (code === 'load_timeout') return 504;
  if (code === 'model_load_failed' || code === 'provider_unavailable') return 500;
  return 400;
}

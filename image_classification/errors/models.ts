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
 * A missing model is 404, a model that is not in this product's format (or whose handler
 * fails) 400, and a failure of the server's own (ONNX Runtime, the GPU, time) a 5xx; an
 * allocation failure while loading is 507, like a refused budget.
 */
function loadFailureStatus({ code, reason }: StartupFailure): number {
  if (code === 'model_not_found') return 404;
  if (/bad_alloc|Failed to allocate|out of memory|ENOMEM/i.test(reason)) return 507;
  if (code === 'load_timeout') return 504;
  if (code === 'model_load_failed' || code === 'provider_unavailable') return 500;
  return 400;
}

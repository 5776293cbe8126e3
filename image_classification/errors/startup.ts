import { clip } from './clip';

/**
 * Why a worker cannot serve, found while it starts: each code is stable, and it is what
 * /ping's failure answer and the log line carry. The message must be fit for a client:
 * `publicStartupFailure` strips absolute paths from it; details belong in the log.
 */
export type StartupCode =
  | 'config_invalid'
  | 'model_not_found'
  | 'model_invalid'
  | 'model_archive_invalid'
  | 'handler_invalid'
  | 'handler_failed'
  | 'model_load_failed'
  | 'model_mismatch'
  | 'provider_unavailable'
  | 'load_timeout';

export class StartupError extends Error {
  constructor(
    readonly code: StartupCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An environment variable that does not parse (see docs/configuration.md). */
export class ConfigError extends StartupError {
  constructor(message: string) {
    super('config_invalid', message);
  }
}

/** The model directory or its archive is missing, unreadable or not in this product's format. */
export class ModelDirError extends StartupError {
  constructor(message: string, code: 'model_not_found' | 'model_invalid' | 'model_archive_invalid' = 'model_invalid') {
    super(code, message);
  }
}

/** The handler module cannot be found, imported or used (SAGEMAKER_PROGRAM, its hooks). */
export class HandlerLoadError extends StartupError {
  constructor(message: string, options?: ErrorOptions) {
    super('handler_invalid', message, options);
  }
}

/** A user's modelFn or warmupFn threw. */
export class HandlerFailedError extends StartupError {
  constructor(hook: string, cause: unknown) {
    super('handler_failed', `${hook} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** ONNX Runtime could not create a session from the graph: not a usable ONNX model. */
export class ModelLoadError extends StartupError {
  constructor(message: string) {
    super('model_invalid', `ONNX Runtime cannot load model.onnx: ${message}`);
  }
}

/** The graph loaded but does not fit its labels.json / preprocessing.json. */
export class ModelMismatchError extends StartupError {
  constructor(message: string) {
    super('model_mismatch', message);
  }
}

/** INFERENCE_DEVICE=gpu, and no CUDA session could be created. */
export class ExecutionProviderError extends StartupError {
  constructor(message: string) {
    super('provider_unavailable', message);
  }
}

export class LoadTimeoutError extends StartupError {
  constructor(seconds: number) {
    super(
      'load_timeout',
      `the model (modelFn, warmupFn or the handler module) did not load within ${seconds} s (MODEL_SERVER_LOAD_TIMEOUT)`,
    );
  }
}

export interface StartupFailure {
  readonly code: StartupCode;
  readonly reason: string;
}

/** Absolute paths, whose last part is kept: `/tmp/model-x/labels.json` → `labels.json`. */
const ABSOLUTE_PATH = /(?<![\w.])(?:\/[^\s/'"`,;:()]+)+\/([^\s/'"`,;:()]+)/g;

/**
 * What /ping may say about a start-up failure: the code, and the message without absolute
 * paths, clipped. Anything that is not a StartupError gets the `fallback` code.
 */
export function publicStartupFailure(error: unknown, fallback: StartupCode): StartupFailure {
  const code = error instanceof StartupError ? error.code : fallback;
  const message = error instanceof Error ? error.message : String(error);
  return { code, reason: clip(message.replace(ABSOLUTE_PATH, '$1'), 300) };
}

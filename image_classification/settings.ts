import type { Config } from './config';
import type { PipelineOptions } from './handler/pipeline';
import type { ArchiveLimits } from './model/model-dir';
import type { SessionOptions } from './runtime/session';

/**
 * The composition root's mapping from the server's Config to what each component takes:
 * below this, no module sees Config's names or the environment.
 */

/** How long serve waits for a worker's model load, and a worker for serve's (MODEL_SERVER_LOAD_TIMEOUT, plus a margin). */
export function modelLoadWaitMs(config: Config): number {
  return (config.loadTimeoutSeconds + 10) * 1000;
}

/** What a model archive may unpack to (MODEL_SERVER_MAX_MODEL_MB), and in how long (MODEL_SERVER_LOAD_TIMEOUT). */
export function archiveLimits(config: Config): ArchiveLimits {
  return { maxBytes: config.maxModelBytes, timeoutMs: config.loadTimeoutSeconds * 1000 };
}

/** ONNX Runtime's settings, for the built-in model and handler models alike. */
export function sessionOptions(config: Config): Required<SessionOptions> {
  return { device: config.inferenceDevice, intraOpThreads: config.ortIntraOpThreads, allowSpinning: config.ortAllowSpinning };
}

/** The request pipeline's settings: handler location, default Accept, the built-in predictor's limits and batching. */
export function pipelineOptions(
  config: Config,
  hooks: { onInferenceFailure?: (error: Error) => void; onBatch?: (images: number) => void } = {},
): PipelineOptions {
  const { submitDirectory, program, defaultAccept, maxImagePixels } = config;
  const batching = { ...(config.maxBatchSize ? { maxBatchSize: config.maxBatchSize } : {}), maxDelayMs: config.maxBatchDelayMs };
  const predictor = {
    ...sessionOptions(config),
    maxImagePixels,
    decodeTimeoutSeconds: config.timeoutSeconds,
    batching,
    ...hooks,
  };
  return { submitDirectory, program, defaultAccept, predictor };
}

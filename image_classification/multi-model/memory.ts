import os from 'node:os';
import type { InspectedModel } from './model-tree';

/**
 * How the model manager judges memory (docs/multi-model.md). The budget is the
 * resident memory all workers together may hold, MODEL_SERVER_MODELS_MEMORY_MB, by default
 * 85% of the container's memory (its cgroup limit, else the machine's). A load is refused
 * with 507 when the workers' current RSS plus the new model's estimate would pass it.
 */
export function defaultMemoryBudgetBytes(): number {
  const limit = process.constrainedMemory?.() || os.totalmem();
  return Math.floor(Math.min(limit, os.totalmem()) * 0.85);
}

/** A fixed part for a model's session and inference thread. */
const PER_MODEL_FIXED_BYTES = 16 * 1024 * 1024;

/**
 * Images one worker holds in preprocessing and inference at once, for the estimate: a full
 * batch of the built-in model.
 */
const IMAGES_IN_FLIGHT = 8;

/** A graph's working memory per image, as a multiple of its input tensor (MobileNet-class networks stay under it). */
const ACTIVATION_FACTOR = 8;

/**
 * One worker's cost of a model before it is loaded: its files twice (ONNX Runtime's copy of
 * the weights and the graph's working memory), the input tensors and activations of
 * IMAGES_IN_FLIGHT images at its crop_size (float32, 3 channels), the resized RGB pictures at
 * resize_shorter_side (4:3) they are cut from, and a fixed part. Meant to stay above what
 * `npm run bench:multi-model` measures per copy (docs/multi-model.md).
 */
export function estimateWorkerBytes({ fileBytes, spec }: InspectedModel): number {
  const inputTensor = 3 * spec.crop_size ** 2 * 4;
  const resized = 3 * spec.resize_shorter_side ** 2 * (4 / 3);
  const perImage = inputTensor * (1 + ACTIVATION_FACTOR) + resized;
  return Math.ceil(PER_MODEL_FIXED_BYTES + 2 * fileBytes + IMAGES_IN_FLIGHT * perImage);
}

import os from 'node:os';
import { InsufficientMemoryError } from '../errors';
import type { InspectedModel } from './model-tree';

/**
 * How the model manager judges memory (docs/multi-model.md). The budget is the
 * resident memory all workers together may hold, MODEL_SERVER_MODELS_MEMORY_MB, by default
 * 85% of the container's memory (its cgroup limit, else the machine's). A load is refused
 * with 507 when the workers' current RSS plus the new model's estimate would pass it, and
 * unloaded again with 507 when, once loaded, the workers hold more than the budget.
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

const mb = (bytes: number) => Math.ceil(bytes / 2 ** 20);
const BUDGET = 'budget (MODEL_SERVER_MODELS_MEMORY_MB)';

/** Before a load: what the workers hold plus the model's estimate for every worker must fit. */
export function checkEstimate(name: string, neededBytes: number, heldBytes: number, budgetBytes: number, workers: number): void {
  if (heldBytes + neededBytes <= budgetBytes) return;
  throw new InsufficientMemoryError(
    `loading '${name}' needs about ${mb(neededBytes)} MB across ${workers} workers; ` +
      `they hold ${mb(heldBytes)} MB of the ${mb(budgetBytes)} MB ${BUDGET}: unload a model first`,
  );
}

/** After a load: a graph can take far more once it runs (the warm-up) than its files suggest. */
export function checkLoaded(name: string, grewBytes: number, heldBytes: number, budgetBytes: number): void {
  if (heldBytes <= budgetBytes) return;
  throw new InsufficientMemoryError(
    `'${name}' grew the workers by ${mb(grewBytes)} MB once loaded; they held ${mb(heldBytes)} MB of the ` +
      `${mb(budgetBytes)} MB ${BUDGET}, so it was unloaded`,
  );
}

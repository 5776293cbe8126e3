import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

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

/**
 * One worker's cost of a model before it is loaded: its files twice (ONNX Runtime's copy of
 * the weights and the graph's working memory) plus a fixed part for its session and inference
 * thread. Meant to stay above what `npm run bench:multi-model` measures per copy (docs/multi-model.md).
 */
const PER_MODEL_FIXED_BYTES = 16 * 1024 * 1024;

/** A model directory holds a handful of files; the walk stops counting files after this. */
const MAX_FILES_COUNTED = 10_000;

export async function estimateWorkerBytes(dir: string): Promise<number> {
  let bytes = 0;
  let files = 0;
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (++files > MAX_FILES_COUNTED) return;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) bytes += (await stat(full)).size;
    }
  };
  await walk(dir);
  return PER_MODEL_FIXED_BYTES + 2 * bytes;
}

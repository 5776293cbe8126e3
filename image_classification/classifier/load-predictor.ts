import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../logger';
import { materialise, readModelBundle, resolveModelDir } from '../model/model-dir';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../preprocess/limits';
import { Predictor } from './predictor';

/**
 * Run `use` with a Predictor for command-line use: the given model dir or model.tar.gz, else
 * the same resolution as the server without SM_MODEL_DIR (/opt/ml/model, the shipped model).
 * CPU, all cores. `graphFile` picks another graph of the directory (model.cuda.onnx, run on
 * the CPU). Afterwards the predictor is closed and an archive's unpacked copy removed.
 */
export async function withPredictor<T>(
  location: string | undefined,
  use: (predictor: Predictor) => Promise<T>,
  { graphFile, logLevel = 'warn' }: { graphFile?: string | undefined; logLevel?: string | undefined } = {},
): Promise<T> {
  return withModelDir(location, async (dir) => {
    const bundle = await readModelBundle(dir);
    const graph = graphFile ? { ...bundle, onnxPath: path.join(bundle.dir, graphFile) } : bundle;
    const logger = createLogger(logLevel);
    const predictor = await Predictor.load(
      graph,
      {
        device: 'cpu',
        intraOpThreads: os.availableParallelism(),
        maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
        batching: { maxBatchSize: 8, maxDelayMs: 0 },
      },
      logger,
    );
    try {
      return await use(predictor);
    } finally {
      await predictor.close();
    }
  });
}

/**
 * Run `use` with a model directory (the given dir or model.tar.gz, else the server's
 * resolution), removing an archive's unpacked copy afterwards.
 */
export async function withModelDir<T>(location: string | undefined, use: (dir: string) => Promise<T>): Promise<T> {
  const resolved = location ? await materialiseAt(location) : await resolveModelDir(undefined);
  try {
    return await use(resolved.dir);
  } finally {
    if (resolved.unpacked) await rm(resolved.dir, { recursive: true, force: true });
  }
}

async function materialiseAt(location: string): Promise<{ dir: string; unpacked: boolean }> {
  const dir = await materialise(location);
  return { dir, unpacked: dir !== location };
}

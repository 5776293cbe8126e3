import os from 'node:os';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../logger';
import { materialise, readModelBundle } from '../model/model-dir';
import { Predictor } from '../predictor';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../preprocess/limits';

/**
 * Load one graph of the packed model exactly as the server does (model.onnx unless `graphFile`
 * names another, e.g. model.cuda.onnx run here on the CPU) and compare its probabilities with
 * the training-time computation. Returns the largest absolute difference; throws above `tolerance`.
 */
export async function verifyExport(modelArchive: string, files: readonly string[], expected: Float64Array, views: number, graphFile?: string, tolerance = 1e-4): Promise<number> {
  const dir = await materialise(modelArchive);
  const bundle = await readModelBundle(dir);
  const graph = graphFile ? { ...bundle, onnxPath: path.join(bundle.dir, graphFile) } : bundle;
  const predictor = await Predictor.load(graph, { device: 'cpu', intraOpThreads: os.availableParallelism(), maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS, batching: { maxBatchSize: 8, maxDelayMs: 0 } }, createLogger('warn'));
  try {
    const rows = await predictor.scores(await Promise.all(files.map((f) => readFile(f))));
    const classes = rows[0]!.length;
    let maxDiff = 0;
    rows.forEach((row, i) => {
      for (let k = 0; k < classes; k++) maxDiff = Math.max(maxDiff, Math.abs(row[k]! - expected[i * views * classes + k]!));
    });
    if (!(maxDiff <= tolerance)) throw new Error(`exported graph ${graph.onnxPath.split(path.sep).pop()} differs from training by ${maxDiff} (> ${tolerance})`);
    return maxDiff;
  } finally {
    await predictor.close();
    if (dir !== modelArchive) await rm(dir, { recursive: true, force: true });
  }
}

import { readFile } from 'node:fs/promises';
import { withPredictor } from '../classifier/load-predictor';

/**
 * Load one graph of the packed model exactly as the server does (model.onnx unless `graphFile`
 * names another, e.g. model.cuda.onnx run here on the CPU) and compare its probabilities with
 * the training-time computation. Returns the largest absolute difference; throws above `tolerance`.
 */
export async function verifyExport(
  modelArchive: string,
  files: readonly string[],
  expected: Float64Array,
  views: number,
  graphFile?: string,
  tolerance = 1e-4,
): Promise<number> {
  const rows = await withPredictor(modelArchive, async (predictor) => predictor.scores(await Promise.all(files.map((f) => readFile(f)))), {
    graphFile,
  });
  const classes = rows[0]!.length;
  let maxDiff = 0;
  rows.forEach((row, i) => {
    for (let k = 0; k < classes; k++) maxDiff = Math.max(maxDiff, Math.abs(row[k]! - expected[i * views * classes + k]!));
  });
  if (!(maxDiff <= tolerance))
    throw new Error(`exported graph ${graphFile ?? 'model.onnx'} differs from training by ${maxDiff} (> ${tolerance})`);
  return maxDiff;
}

import { readFile } from 'node:fs/promises';
import { loadPredictor } from '../load-predictor';

/**
 * Load the packed model exactly as the server does and compare its probabilities with the
 * training-time computation. Returns the largest absolute difference; throws above 1e-4.
 */
export async function verifyExport(modelArchive: string, files: readonly string[], expected: Float64Array, views: number, tolerance = 1e-4): Promise<number> {
  const predictor = await loadPredictor(modelArchive);
  try {
    const rows = await predictor.scores(await Promise.all(files.map((f) => readFile(f))));
    const classes = rows[0]!.length;
    let maxDiff = 0;
    rows.forEach((row, i) => {
      for (let k = 0; k < classes; k++) maxDiff = Math.max(maxDiff, Math.abs(row[k]! - expected[i * views * classes + k]!));
    });
    if (!(maxDiff <= tolerance)) throw new Error(`exported graph differs from training by ${maxDiff} (> ${tolerance})`);
    return maxDiff;
  } finally {
    await predictor.close();
  }
}

import { readFile } from 'node:fs/promises';
import { ort } from '../runtime/onnxruntime';
import type { ModelSpec } from '../model/spec';
import { preprocessBatch } from '../preprocess/batch';
import { batchDims, tensorLayout } from '../preprocess/tensor';
import type { CalibrationBatches } from './calibrate';

/** Photos calibrated on unless told otherwise: enough for stable min/max ranges, and seconds to run. */
export const DEFAULT_CALIBRATION_IMAGES = 100;

/**
 * `count` files spread evenly over `files` (a sorted folder-per-class list, so every class is
 * represented), preprocessed by the server's own code into batches of `batchSize`.
 */
export function calibrationImages(files: readonly string[], count: number): string[] {
  if (files.length <= count) return [...files];
  return Array.from({ length: count }, (_, i) => files[Math.floor((i * files.length) / count)]!);
}

export function imageBatches(files: readonly string[], spec: ModelSpec, maxPixels: number, batchSize = 4): CalibrationBatches {
  const layout = tensorLayout(spec);
  return async function* () {
    for (let start = 0; start < files.length; start += batchSize) {
      const slice = files.slice(start, start + batchSize);
      const images = await Promise.all(slice.map((f) => readFile(f)));
      yield new ort.Tensor('float32', await preprocessBatch(images, spec, layout, { maxPixels }), batchDims(layout, slice.length));
    }
  };
}

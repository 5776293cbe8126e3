import type { ModelSpec } from '../model/spec';
import { decodeToRgb } from './image';
import { imageTensorLength, writeImageToBatch, type TensorLayout } from './tensor';

/**
 * Decode every image concurrently (sharp works on libuv's thread pool) and write each into
 * its slot of one batch tensor as soon as it is ready. Shared by the server and training, so
 * the model is trained on exactly what it is served.
 */
export async function preprocessBatch(
  images: readonly Buffer[],
  spec: ModelSpec,
  layout: TensorLayout,
  maxPixels: number,
): Promise<Float32Array> {
  const batch = new Float32Array(images.length * imageTensorLength(layout));
  await Promise.all(
    images.map(async (image, index) => writeImageToBatch(await decodeToRgb(image, spec, maxPixels), batch, index, layout)),
  );
  return batch;
}

import { ndarray, type NdArray } from '../codecs/ndarray';
import { modelSpecSchema, type ModelSpec } from '../model/spec';
import { decodeToRgb, mirrorHorizontally } from './image';
import { DEFAULT_MAX_IMAGE_PIXELS } from './limits';
import { batchDims, imageTensorLength, tensorLayout, writeImageToBatch, type TensorLayout } from './tensor';

export interface BatchOptions {
  readonly maxPixels: number;
  /** libvips' time limit per image (0: none). */
  readonly timeoutSeconds?: number;
  /** Also write each image's mirror after it (slots image, mirror, …): training's augmented view. */
  readonly withMirrors?: boolean;
}

/**
 * Decode every image concurrently (sharp works on libuv's thread pool) and write each into
 * its slot of one batch tensor as soon as it is ready. Shared by the server, training and
 * calibration, so the model is trained on exactly what it is served. `into`: a buffer of
 * exactly the batch's length to write (every value) into, instead of a new one.
 */
export async function preprocessBatch(
  images: readonly Buffer[],
  spec: ModelSpec,
  layout: TensorLayout,
  options: BatchOptions,
  into?: Float32Array,
): Promise<Float32Array> {
  const views = options.withMirrors ? 2 : 1;
  const length = images.length * views * imageTensorLength(layout);
  if (into && into.length !== length) throw new RangeError(`the batch needs ${length} values; the buffer holds ${into.length}`);
  const batch = into ?? new Float32Array(length);
  await Promise.all(
    images.map(async (image, index) => {
      const rgb = await decodeToRgb(image, spec, options.maxPixels, options.timeoutSeconds);
      writeImageToBatch(rgb, batch, index * views, layout);
      if (options.withMirrors) writeImageToBatch(mirrorHorizontally(rgb, spec.crop_size), batch, index * views + 1, layout);
    }),
  );
  return batch;
}

/**
 * Images → one model-ready `[N, 3, S, S]` (or NHWC) float32 tensor, with a preprocessing.json
 * style recipe (missing keys take the documented defaults). For handler modules.
 */
export async function imagesToTensor(
  images: readonly Buffer[],
  recipe: Partial<ModelSpec> = {},
  maxPixels = DEFAULT_MAX_IMAGE_PIXELS,
): Promise<NdArray> {
  const spec = modelSpecSchema.parse(recipe);
  const layout = tensorLayout(spec);
  return ndarray('float32', batchDims(layout, images.length), await preprocessBatch(images, spec, layout, { maxPixels }));
}

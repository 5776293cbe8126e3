import path from 'node:path';
import { modelSpecSchema, type ModelSpec } from '../model/spec';
import { packageRoot } from '../paths';

/** The shipped ImageNet MobileNetV2 (see model/backbone/PROVENANCE.md). */
export const DEFAULT_BACKBONE = path.join(packageRoot(), 'model', 'backbone', 'mobilenet_v2_1.0_224.onnx');
export const DEFAULT_FEATURES_OUTPUT = 'features';

/**
 * The last 96-channel block's output (stride 16), average-pooled and appended to the 1280
 * final features: finer-grained cues for glass vs plastic at no extra backbone cost. It lifted
 * 5-fold CV on train from 93.3% to 94.0% (float32, 384 px; model/EVAL.md).
 */
export const DEFAULT_POOLED_EXTRA = 't_139';

/** The resolution `npm run train` uses unless told otherwise: chosen on the frontier in model/EVAL.md. */
export const DEFAULT_INPUT_SIZE = 384;

/**
 * preprocessing.json for the backbone at `size`: its input scaling is (pixel - 128) / 128,
 * not ImageNet mean/std (see backbone/PROVENANCE.md). It ends in GlobalAveragePool, so it runs
 * at any size; the crop is square and the shorter side is resized to it.
 */
export function mobileNetV2SpecOverrides(size: number) {
  return {
    resize_shorter_side: size,
    crop_size: size,
    rescale_factor: 1,
    mean: [128, 128, 128] as [number, number, number],
    std: [128, 128, 128] as [number, number, number],
    channel_order: 'RGB' as const,
    layout: 'NCHW' as const,
    output_name: 'probabilities',
    apply_softmax: false,
  };
}

export function mobileNetV2Spec(size: number): ModelSpec {
  return modelSpecSchema.parse(mobileNetV2SpecOverrides(size));
}

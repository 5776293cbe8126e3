import type { ModelSpec } from '../model/spec';

/**
 * Per-channel affine form of `(pixel * rescale - mean) / std`, precomputed once per model so
 * the per-pixel loop is one multiply-add. Indexed by *source* (RGB) channel.
 */
export interface TensorLayout {
  readonly size: number;
  readonly scale: Float32Array;
  readonly bias: Float32Array;
  /** Destination channel for each RGB source channel (BGR models swap 0 and 2). */
  readonly channelTarget: readonly [number, number, number];
  readonly layout: 'NCHW' | 'NHWC';
}

export function tensorLayout(spec: ModelSpec): TensorLayout {
  const scale = new Float32Array(3);
  const bias = new Float32Array(3);
  for (let c = 0; c < 3; c++) {
    scale[c] = spec.rescale_factor / spec.std[c]!;
    bias[c] = -spec.mean[c]! / spec.std[c]!;
  }
  const channelTarget: [number, number, number] = spec.channel_order === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  return { size: spec.crop_size, scale, bias, channelTarget, layout: spec.layout };
}

export function imageTensorLength(layout: TensorLayout): number {
  return 3 * layout.size * layout.size;
}

/** Input tensor dims for a batch of `count` images. */
export function batchDims(layout: TensorLayout, count: number): number[] {
  return layout.layout === 'NCHW' ? [count, 3, layout.size, layout.size] : [count, layout.size, layout.size, 3];
}

/**
 * Write one image (HWC RGB bytes) into slot `index` of a preallocated batch buffer.
 * Tight loops over typed arrays: no intermediate copies, no per-pixel allocation.
 */
export function writeImageToBatch(rgb: Uint8Array, batch: Float32Array, index: number, layout: TensorLayout): void {
  const pixels = layout.size * layout.size;
  const base = index * 3 * pixels;
  const { scale, bias, channelTarget } = layout;
  if (layout.layout === 'NCHW') {
    for (let c = 0; c < 3; c++) {
      const s = scale[c]!;
      const b = bias[c]!;
      const plane = base + channelTarget[c]! * pixels;
      for (let p = 0, src = c; p < pixels; p++, src += 3) batch[plane + p] = rgb[src]! * s + b;
    }
    return;
  }
  for (let c = 0; c < 3; c++) {
    const s = scale[c]!;
    const b = bias[c]!;
    const target = channelTarget[c]!;
    for (let p = 0, src = c; p < pixels; p++, src += 3) batch[base + p * 3 + target] = rgb[src]! * s + b;
  }
}

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
 * One sequential pass over the pixels writing all three channels: three strided passes (one
 * per channel) cost about 2.7× as much on a 384×384 image. No per-pixel allocation.
 */
export function writeImageToBatch(rgb: Uint8Array, batch: Float32Array, index: number, layout: TensorLayout): void {
  const pixels = layout.size * layout.size;
  const base = index * 3 * pixels;
  const { scale, bias, channelTarget } = layout;
  const [s0, s1, s2] = [scale[0]!, scale[1]!, scale[2]!];
  const [b0, b1, b2] = [bias[0]!, bias[1]!, bias[2]!];
  // Where channel c of pixel p goes: base + c's plane + p (NCHW) or base + 3p + c (NHWC).
  const planar = layout.layout === 'NCHW';
  const [o0, o1, o2] = channelTarget.map((target) => base + (planar ? target * pixels : target));
  const step = planar ? 1 : 3;
  for (let p = 0, src = 0, dst = 0; p < pixels; p++, src += 3, dst += step) {
    batch[o0 + dst] = rgb[src]! * s0 + b0;
    batch[o1 + dst] = rgb[src + 1]! * s1 + b1;
    batch[o2 + dst] = rgb[src + 2]! * s2 + b2;
  }
}

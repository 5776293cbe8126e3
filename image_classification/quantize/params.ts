/**
 * The arithmetic of ONNX's QuantizeLinear: q = saturate(round(x / scale) + zero_point), with
 * round-half-to-even. Activations are uint8 with a zero point (ONNX Runtime's CPU kernels are
 * u8 activations × s8 weights); weights are int8, symmetric (zero point 0), one scale per
 * output channel; a bias is int32 with scale = input scale × weight scale, as QLinearConv
 * requires.
 */

export interface ActivationParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** The range always includes 0, so that 0 (padding, ReLU's floor) is exactly representable. */
export function activationParams({ min, max }: Range): ActivationParams {
  const low = Math.min(0, min);
  const high = Math.max(0, max);
  const scale = Math.fround((high - low) / 255);
  if (!(scale > 0) || !Number.isFinite(scale)) return { scale: 1, zeroPoint: 0 };
  return { scale, zeroPoint: clamp(Math.round(-low / scale), 0, 255) };
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function clamp(x: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, x));
}

export interface QuantizedWeights {
  readonly values: Int8Array;
  /** One per channel along axis `axis`. */
  readonly scales: Float32Array;
}

/**
 * The step of the uniform grid every value lies on, if there is one: the weights of a model
 * trained with quantization (like the shipped backbone, a TFLite QAT model) are already
 * `step × integer`, and re-gridding them with another scale adds error for nothing.
 */
export function weightGridStep(values: Float32Array): number | undefined {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  let smallest = Infinity;
  for (let i = 1; i < distinct.length; i++) smallest = Math.min(smallest, distinct[i]! - distinct[i - 1]!);
  if (!Number.isFinite(smallest) || smallest <= 0) return undefined;
  // The smallest gap carries float32 rounding; the span over its step count is exact to ~1e-7.
  const span = distinct[distinct.length - 1]! - distinct[0]!;
  const step = span / Math.round(span / smallest);
  return distinct.every((v) => Math.abs(v / step - Math.round(v / step)) < 0.01) ? step : undefined;
}

/**
 * Symmetric int8, one scale per channel of `axis` (Conv: axis 0 = output channels). Each
 * channel takes whichever of two scales quantizes it with the smaller squared error: max|w| /
 * `maxLevel` (nothing clipped), or the weights' own grid step (exact, but values beyond
 * ±`maxLevel` steps are clipped). `maxLevel` 127 uses the full range; 63 ("reduce range")
 * keeps u8×s8 products summed in pairs inside int16 on CPUs without VNNI, whose AVX2 kernel
 * could otherwise saturate.
 */
export function quantizeWeightsPerChannel(weights: Float32Array, dims: readonly number[], axis: number, maxLevel = 127): QuantizedWeights {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = weights.length / (channels * inner);
  if (!Number.isInteger(outer)) throw new RangeError('weight dims do not match its values');
  const channelValues = (c: number) => {
    const out = new Float32Array(outer * inner);
    for (let o = 0; o < outer; o++) out.set(weights.subarray((o * channels + c) * inner, (o * channels + c + 1) * inner), o * inner);
    return out;
  };
  const quantize = (w: number, scale: number) => clamp(roundHalfEven(w / scale), -maxLevel, maxLevel);
  const squaredError = (values: Float32Array, scale: number) => values.reduce((sum, w) => sum + (w - quantize(w, scale) * scale) ** 2, 0);
  const grid = weightGridStep(weights);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const values = channelValues(c);
    const maxAbs = values.reduce((m, w) => Math.max(m, Math.abs(w)), 0);
    // A channel of zeros still needs a positive scale; any value quantizes it to 0.
    const candidates = maxAbs === 0 ? [1] : [Math.fround(maxAbs / maxLevel), ...(grid ? [Math.fround(grid)] : [])];
    scales[c] = candidates.reduce((best, scale) => (squaredError(values, scale) < squaredError(values, best) ? scale : best));
  }
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) values[i] = quantize(weights[i]!, scales[Math.floor(i / inner) % channels]!);
  return { values, scales };
}

/** int32 bias for QLinearConv/QGemm: scale = input scale × weight scale of its channel, zero point 0. */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const scales = weightScales.map((w) => Math.fround(w * inputScale));
  const values = Int32Array.from(bias, (b, c) => clamp(roundHalfEven(b / scales[c]!), -(2 ** 31), 2 ** 31 - 1));
  return { values, scales };
}

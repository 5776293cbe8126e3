import { onnx } from 'onnx-proto';
import { ort } from '../runtime/onnxruntime';
import type { Range } from './params';

/**
 * Activation ranges from running the float model on calibration inputs.
 * - `minmax`: the smallest and largest value seen. Nothing saturates; one outlier widens the
 *   step for every value.
 * - `percentile`: the range holding all but a `tail` fraction of the values at each end
 *   (from a 2048-bin histogram over the min–max range, a second pass): outliers saturate,
 *   the step is finer for the rest.
 */
export type CalibrationStatistic = 'minmax' | 'percentile';

export interface CalibrationOptions {
  readonly statistic: CalibrationStatistic;
  /** For `percentile`: the fraction of values allowed to saturate at each end. */
  readonly tail?: number;
  readonly threads: number;
}

/** Calibration data: called once per pass, yields input batches in the model's layout. */
export type CalibrationBatches = () => AsyncIterable<ort.Tensor>;

const BINS = 2048;
export const DEFAULT_PERCENTILE_TAIL = 1e-4;

/** The model with every tensor to calibrate exposed as an output. */
function withOutputs(model: Uint8Array, tensors: readonly string[]): Uint8Array {
  const decoded = onnx.ModelProto.decode(model);
  const graph = decoded.graph as onnx.GraphProto;
  // A graph input is measured from the batches themselves, not exposed as an output.
  const existing = new Set([...graph.output, ...graph.input].map((o) => o.name));
  for (const name of tensors) {
    if (!existing.has(name))
      graph.output.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  }
  return onnx.ModelProto.encode(decoded).finish();
}

async function forEachOutput(
  session: ort.InferenceSession,
  batches: CalibrationBatches,
  tensors: readonly string[],
  visit: (name: string, values: Float32Array) => void,
): Promise<void> {
  for await (const batch of batches()) {
    const outputs = await session.run({ [session.inputNames[0]!]: batch }, tensors);
    for (const name of tensors) visit(name, outputs[name]!.data as Float32Array);
  }
}

function minMax(ranges: Map<string, { min: number; max: number }>, name: string, values: Float32Array): void {
  const range = ranges.get(name) ?? { min: Infinity, max: -Infinity };
  let { min, max } = range;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  ranges.set(name, { min, max });
}

function quantileFromHistogram(counts: Float64Array, range: Range, fraction: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const width = (range.max - range.min) / BINS;
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += counts[bin]!;
    if (seen >= fraction * total) return range.min + (bin + 1) * width;
  }
  return range.max;
}

export async function calibrate(
  model: Uint8Array,
  tensors: readonly string[],
  batches: CalibrationBatches,
  options: CalibrationOptions,
): Promise<Map<string, Range>> {
  const session = await ort.InferenceSession.create(withOutputs(model, tensors), {
    intraOpNumThreads: options.threads,
    graphOptimizationLevel: 'all',
  });
  try {
    const inputName = session.inputNames[0]!;
    // The graph input is measured from the batches themselves: it is not an output of a run.
    const outputs = tensors.filter((t) => t !== inputName);
    const measure = async (visit: (name: string, values: Float32Array) => void) => {
      await forEachOutput(session, batches, outputs, visit);
      if (outputs.length !== tensors.length) for await (const batch of batches()) visit(inputName, batch.data as Float32Array);
    };
    const ranges = new Map<string, Range>();
    await measure((name, values) => minMax(ranges, name, values));
    if (options.statistic === 'minmax') return ranges;

    const tail = options.tail ?? DEFAULT_PERCENTILE_TAIL;
    const histograms = new Map(tensors.map((t) => [t, new Float64Array(BINS)]));
    await measure((name, values) => {
      const { min, max } = ranges.get(name)!;
      const counts = histograms.get(name)!;
      const perBin = BINS / (max - min || 1);
      for (let i = 0; i < values.length; i++) counts[Math.min(BINS - 1, Math.floor((values[i]! - min) * perBin))]!++;
    });
    return new Map(
      tensors.map((name) => {
        const full = ranges.get(name)!;
        const counts = histograms.get(name)!;
        return [
          name,
          {
            min: Math.max(full.min, quantileFromHistogram(counts, full, tail) - (full.max - full.min) / BINS),
            max: quantileFromHistogram(counts, full, 1 - tail),
          },
        ];
      }),
    );
  } finally {
    await session.release();
  }
}

import { readFile } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import * as ort from 'onnxruntime-node';
import type { ModelSpec } from '../model/spec';
import { decodeToRgb } from '../preprocess/image';
import { batchDims, imageTensorLength, tensorLayout, writeImageToBatch } from '../preprocess/tensor';

/** Mirror an HWC RGB square left↔right: the augmented view for training. */
export function flipHorizontal(rgb: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < size; y++) {
    const row = y * size * 3;
    for (let x = 0; x < size; x++) {
      const src = row + x * 3;
      const dst = row + (size - 1 - x) * 3;
      out[dst] = rgb[src]!;
      out[dst + 1] = rgb[src + 1]!;
      out[dst + 2] = rgb[src + 2]!;
    }
  }
  return out;
}

export interface FeatureMatrix {
  /** Row-major [rows, dim]. */
  readonly data: Float32Array;
  readonly rows: number;
  readonly dim: number;
}

export interface ExtractOptions {
  /** The backbone graph, its input already at the spec's crop size (float32 or int8 QDQ). */
  readonly backbone: Uint8Array;
  readonly outputName: string;
  readonly spec: ModelSpec;
  readonly threads: number;
  readonly maxPixels: number;
  /** Also extract the mirrored view of each image (rows interleaved: image, mirror, …). */
  readonly withFlips: boolean;
  readonly batchSize?: number;
  readonly label?: string;
}

/**
 * Backbone features for every file, decoded and preprocessed by exactly the code the server
 * runs (decodeToRgb + writeImageToBatch), in batches, with a progress bar on stderr.
 */
export async function extractFeatures(files: readonly string[], options: ExtractOptions): Promise<FeatureMatrix> {
  const session = await ort.InferenceSession.create(options.backbone, {
    intraOpNumThreads: options.threads,
    graphOptimizationLevel: 'all',
  });
  const layout = tensorLayout(options.spec);
  const size = options.spec.crop_size;
  const views = options.withFlips ? 2 : 1;
  const batchSize = options.batchSize ?? 16;
  const bar = new SingleBar({ format: `${options.label ?? 'features'} [{bar}] {value}/{total} images | {eta}s left`, stream: process.stderr }, Presets.shades_classic);
  bar.start(files.length, 0);
  const chunks: Float32Array[] = [];
  let dim = 0;
  try {
    for (let start = 0; start < files.length; start += batchSize) {
      const slice = files.slice(start, start + batchSize);
      const batch = new Float32Array(slice.length * views * imageTensorLength(layout));
      await Promise.all(
        slice.map(async (file, i) => {
          const rgb = await decodeToRgb(await readFile(file), options.spec, options.maxPixels);
          writeImageToBatch(rgb, batch, i * views, layout);
          if (options.withFlips) writeImageToBatch(flipHorizontal(rgb, size), batch, i * views + 1, layout);
        }),
      );
      const input = new ort.Tensor('float32', batch, batchDims(layout, slice.length * views));
      const result = await session.run({ [session.inputNames[0]!]: input }, [options.outputName]);
      const output = result[options.outputName]!;
      dim = Number(output.dims[1]);
      chunks.push(new Float32Array(output.data as Float32Array));
      bar.increment(slice.length);
    }
  } finally {
    bar.stop();
    await session.release();
  }
  const data = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return { data, rows: files.length * views, dim };
}

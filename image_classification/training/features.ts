import { readFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { ort } from '../runtime/onnxruntime';
import { createLogger } from '../logger';
import type { ModelSpec } from '../model/spec';
import { preprocessBatch } from '../preprocess/batch';
import { batchDims, tensorLayout } from '../preprocess/tensor';
import { createSession } from '../runtime/session';

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
 * runs (preprocessBatch, the runtime's session settings on the CPU), in batches, with a
 * progress bar on stderr.
 */
export async function extractFeatures(files: readonly string[], options: ExtractOptions): Promise<FeatureMatrix> {
  const { session } = await createSession(options.backbone, { device: 'cpu', intraOpThreads: options.threads }, createLogger('warn'));
  const layout = tensorLayout(options.spec);
  const views = options.withFlips ? 2 : 1;
  const batchSize = options.batchSize ?? 16;
  const bar = new SingleBar(
    { format: `${options.label ?? 'features'} [{bar}] {value}/{total} images | {eta}s left`, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(files.length, 0);
  const chunks: Float32Array[] = [];
  let dim = 0;
  try {
    for (let start = 0; start < files.length; start += batchSize) {
      const slice = files.slice(start, start + batchSize);
      const images = await Promise.all(slice.map((file) => readFile(file)));
      const batch = await preprocessBatch(images, options.spec, layout, { maxPixels: options.maxPixels, withMirrors: options.withFlips });
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

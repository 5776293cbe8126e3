import { spawn } from 'node:child_process';
import os from 'node:os';
import { ort } from '../image_classification/runtime/onnxruntime';

/**
 * The model alone: ONNX Runtime on a ready input tensor, one process per core, one thread
 * each, batch 1, no decode and no HTTP. What the product could answer if every image cost
 * only its inference.
 */

export interface ModelAlone {
  readonly processes: number;
  readonly imagesPerSecond: number;
  /** One run, median over every process (ms). */
  readonly runMs: number;
}

interface ChildResult {
  readonly runs: number;
  readonly seconds: number;
  readonly medianMs: number;
}

async function child(onnxPath: string, dims: number[], seconds: number): Promise<ChildResult> {
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.random() * 2 - 1);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, dims) };
  for (let i = 0; i < 10; i++) await session.run(feeds);
  const times: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { runs: times.length, seconds: (performance.now() - start) / 1000, medianMs: times[Math.floor(times.length / 2)]! };
}

/** All processes start together and run for `seconds` each (loading takes well under a second of that skew). */
export async function measureModelAlone(onnxPath: string, dims: number[], seconds: number): Promise<ModelAlone> {
  const processes = os.availableParallelism();
  const results = await Promise.all(
    Array.from(
      { length: processes },
      () =>
        new Promise<ChildResult>((resolve, reject) => {
          const proc = spawn(process.execPath, [__filename, onnxPath, dims.join(','), String(seconds)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          proc.once('error', reject);
          proc.once('close', (code) =>
            code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`model-alone child exited ${code}`)),
          );
        }),
    ),
  );
  const imagesPerSecond = results.reduce((sum, r) => sum + r.runs / r.seconds, 0);
  const medians = results.map((r) => r.medianMs).sort((a, b) => a - b);
  return { processes, imagesPerSecond, runMs: medians[Math.floor(medians.length / 2)]! };
}

if (require.main === module) {
  const [onnxPath, dims, seconds] = process.argv.slice(2) as [string, string, string];
  void child(onnxPath, dims.split(',').map(Number), Number(seconds)).then((result) => console.log(JSON.stringify(result)));
}

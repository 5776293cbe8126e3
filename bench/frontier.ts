import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ort } from '../image_classification/runtime/onnxruntime';
import { parseCli, runCli } from '../image_classification/cli/args';
import { StageTimer } from '../image_classification/training/stage-timer';
import { CUDA_MODEL_FILE, readModelBundle, unpackArchive, type ModelBundle } from '../image_classification/model/model-dir';
import { packageRoot } from '../image_classification/paths';
import { DEFAULT_BACKBONE } from '../image_classification/training/backbone';
import { PIPELINE_DEFAULTS, trainPipeline, type PipelineResult } from '../image_classification/training/pipeline';
import { throughput } from './compute-limit';
import { benchImages } from './images';

const USAGE = `usage: npm run frontier -- --data DIR --val DIR [--sizes 224,288,320,384] [--seconds 8]
Trains the model at each input size (the same pipeline as npm run train, int8 and float32)
and measures each graph on this machine: ONNX Runtime alone, one image, 1 thread (median ms),
and images/s of the compute limit (decode + preprocess + infer, one 1-thread session per core).
Writes model/frontier.md, which npm run train copies into EVAL.md.`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** ONNX Runtime alone on one preprocessed-size input, 1 intra-op thread: median of 30 runs. */
async function msPerImage(onnxPath: string, size: number): Promise<number> {
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i) * 0.9),
    [1, 3, size, size],
  );
  const times: number[] = [];
  for (let i = 0; i < 35; i++) {
    const start = performance.now();
    await session.run({ [session.inputNames[0]!]: input });
    if (i >= 5) times.push(performance.now() - start);
  }
  await session.release();
  return median(times);
}

interface Point {
  readonly size: number;
  readonly precision: 'float32' | 'int8';
  readonly cv: number;
  readonly val: number;
  /** int8 only: share of val photos where it and the float32 model agree. */
  readonly agreement?: number;
  readonly ms: number;
  readonly imagesPerSecond: number;
}

async function measure(bundle: ModelBundle, size: number, images: Buffer[], seconds: number) {
  const ms = await msPerImage(bundle.onnxPath, size);
  const imagesPerSecond = await throughput(bundle, images, { sessions: os.availableParallelism(), threads: 1, batch: 1 }, seconds);
  return { ms, imagesPerSecond };
}

const tableRow = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const percent = (share: number) => `${(100 * share).toFixed(1)}%`;

function table(points: Point[], command: string): string {
  const best = Math.max(...points.map((p) => p.imagesPerSecond));
  return [
    '## Resolution frontier',
    '',
    [
      `Command: \`${command}\`.`,
      'The same pipeline at each size, on the final 1280 features only (`--pooled-extra none`: the resolution alone is compared);',
      'ms: ONNX Runtime alone, one image, 1 thread (median);',
      `images/s: the compute limit (decode + preprocess + infer, ${os.availableParallelism()} sessions × 1 thread, batch 1)`,
      `on ${os.cpus()[0]?.model ?? 'this CPU'}, ${os.availableParallelism()} cores.`,
    ].join(' '),
    '',
    tableRow([
      'input',
      'precision',
      'CV accuracy (train, 5-fold)',
      'val accuracy',
      'val agreement with float32',
      'ms / image (1 thread)',
      'images/s (compute limit)',
      'relative cost',
    ]),
    '|---:|---|---:|---:|---:|---:|---:|---:|',
    ...points.map((p) =>
      tableRow([
        String(p.size),
        p.precision,
        percent(p.cv),
        percent(p.val),
        p.agreement === undefined ? '' : percent(p.agreement),
        p.ms.toFixed(1),
        p.imagesPerSecond.toFixed(1),
        `${(best / p.imagesPerSecond).toFixed(2)}×`,
      ]),
    ),
  ].join('\n');
}

runCli(async () => {
  const { values } = parseCli(
    {
      data: { type: 'string' },
      val: { type: 'string' },
      sizes: { type: 'string', default: '224,288,320,384' },
      seconds: { type: 'string', default: '8' },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.data || !values.val) throw new Error(`--data and --val are required\n\n${USAGE}`);
  const images = (await benchImages()).mixed;
  const points: Point[] = [];
  for (const size of values.sizes.split(',').map(Number)) {
    const work = await mkdtemp(path.join(os.tmpdir(), `frontier-${size}-`));
    const out = path.join(work, 'model.tar.gz');
    const result: PipelineResult = await trainPipeline(
      {
        ...PIPELINE_DEFAULTS,
        data: values.data,
        val: values.val,
        backbone: DEFAULT_BACKBONE,
        out,
        size,
        precision: 'int8',
        threads: os.availableParallelism(),
      },
      new StageTimer(),
    );
    const int8 = await readModelBundle(await unpackArchive(out));
    const float = { ...int8, onnxPath: path.join(int8.dir, CUDA_MODEL_FILE) };
    points.push({
      size,
      precision: 'float32',
      cv: result.float.cv.best.accuracy,
      val: result.float.val!.accuracy,
      ...(await measure(float, size, images, Number(values.seconds))),
    });
    points.push({
      size,
      precision: 'int8',
      cv: result.int8!.cv.best.accuracy,
      val: result.int8!.val!.accuracy,
      agreement: result.agreement,
      ...(await measure(int8, size, images, Number(values.seconds))),
    });
    console.log(JSON.stringify(points.slice(-2)));
    await rm(int8.dir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
  const markdown = table(points, `npm run frontier -- ${process.argv.slice(2).join(' ')}`);
  await writeFile(path.join(packageRoot(), 'model', 'frontier.md'), `${markdown}\n`);
  await writeFile(path.join(packageRoot(), 'bench', 'results', 'frontier.json'), `${JSON.stringify(points, null, 2)}\n`);
  console.log(markdown);
});

import os from 'node:os';
import { createLogger } from '../image_classification/logger';
import type { ModelBundle } from '../image_classification/model/model-dir';
import { Predictor } from '../image_classification/classifier/predictor';
import { preprocessBatch } from '../image_classification/preprocess/batch';
import { batchDims, tensorLayout } from '../image_classification/preprocess/tensor';
import { ndarray } from '../image_classification/codecs/ndarray';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../image_classification/preprocess/limits';

/**
 * The ceiling for `npm run bench`: decode + preprocess + infer in this one process, no HTTP,
 * with the best of a few configurations (sessions x ORT threads x batch size), all cores busy.
 */

export interface ComputeConfig {
  readonly sessions: number;
  readonly threads: number;
  readonly batch: number;
}

export interface ComputeLimit {
  readonly best: ComputeConfig & { readonly imagesPerSecond: number };
  readonly tried: (ComputeConfig & { readonly imagesPerSecond: number })[];
  /** One image at a time through decode + preprocess + infer, all cores on it (median ms). */
  readonly singleImageMs: number;
  readonly stagesMs: {
    readonly preprocessSmall: number;
    readonly preprocessLarge: number;
    readonly inferOne: number;
    readonly inferPerImageInBatch: number;
  };
}

const logger = createLogger('warn');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** ORT threads spin only when they do not share cores (as serve decides for its workers). */
function load(bundle: ModelBundle, threads: number, batch: number, sessions = 1): Promise<Predictor> {
  const allowSpinning = sessions * threads <= os.availableParallelism();
  return Predictor.load(
    bundle,
    {
      device: 'cpu',
      intraOpThreads: threads,
      allowSpinning,
      maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
      batching: { maxBatchSize: batch, maxDelayMs: 0 },
    },
    logger,
  );
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Images/s with enough single-image requests in flight to keep every session's batches full. */
export async function throughput(bundle: ModelBundle, images: readonly Buffer[], config: ComputeConfig, seconds: number): Promise<number> {
  const predictors = await Promise.all(
    Array.from({ length: config.sessions }, () => load(bundle, config.threads, config.batch, config.sessions)),
  );
  let next = 0;
  let done = 0;
  const feed = async (predictor: Predictor, deadline: number) => {
    while (performance.now() < deadline) {
      await predictor.predict([images[next++ % images.length]!]);
      done++;
    }
  };
  const inFlight = Math.max(2, 2 * config.batch);
  await Promise.all(predictors.flatMap((p) => Array.from({ length: inFlight }, () => feed(p, performance.now() + 1000))));
  done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(predictors.flatMap((p) => Array.from({ length: inFlight }, () => feed(p, deadline))));
  const rate = done / ((performance.now() - start) / 1000);
  await Promise.all(predictors.map((p) => p.close()));
  return rate;
}

function candidates(cores: number): ComputeConfig[] {
  const configs: ComputeConfig[] = [];
  for (const batch of [1, 4, 8]) configs.push({ sessions: 1, threads: cores, batch });
  if (cores > 1) for (const batch of [1, 4]) configs.push({ sessions: cores, threads: 1, batch });
  // serve's default layout (a worker per core, 2 threads each, no spinning), for comparison.
  if (cores > 1) configs.push({ sessions: cores, threads: 2, batch: 1 });
  return configs;
}

async function stages(bundle: ModelBundle, small: readonly Buffer[], large: readonly Buffer[], batch: number) {
  const layout = tensorLayout(bundle.spec);
  const preprocess = async (images: readonly Buffer[]) => {
    const times: number[] = [];
    for (const image of images)
      times.push(await timed(() => preprocessBatch([image], bundle.spec, layout, { maxPixels: DEFAULT_MAX_IMAGE_PIXELS })));
    return median(times);
  };
  const predictor = await load(bundle, os.availableParallelism(), batch);
  const batchTensor = ndarray(
    'float32',
    batchDims(layout, batch),
    await preprocessBatch(small.slice(0, batch), bundle.spec, layout, { maxPixels: DEFAULT_MAX_IMAGE_PIXELS }),
  );
  const one = ndarray('float32', batchDims(layout, 1), batchTensor.data.slice(0, batchTensor.data.length / batch));
  const inferOne: number[] = [];
  const inferBatch: number[] = [];
  for (let i = 0; i < 10; i++) {
    inferOne.push(await timed(() => predictor.predictTensor(one)));
    inferBatch.push((await timed(() => predictor.predictTensor(batchTensor))) / batch);
  }
  await predictor.close();
  return {
    preprocessSmall: await preprocess(small),
    preprocessLarge: await preprocess(large),
    inferOne: median(inferOne),
    inferPerImageInBatch: median(inferBatch),
  };
}

async function singleImage(bundle: ModelBundle, images: readonly Buffer[]): Promise<number> {
  const predictor = await load(bundle, os.availableParallelism(), 1);
  const times: number[] = [];
  for (const round of [0, 1]) {
    for (const image of images) {
      const ms = await timed(() => predictor.predict([image]));
      if (round === 1) times.push(ms);
    }
  }
  await predictor.close();
  return median(times);
}

export async function measureComputeLimit(
  bundle: ModelBundle,
  images: { small: Buffer[]; large: Buffer[]; mixed: Buffer[] },
  seconds: number,
): Promise<ComputeLimit> {
  const tried: ComputeLimit['tried'] = [];
  for (const config of candidates(os.availableParallelism())) {
    tried.push({ ...config, imagesPerSecond: await throughput(bundle, images.mixed, config, seconds) });
  }
  const best = tried.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
  return {
    best,
    tried,
    singleImageMs: await singleImage(bundle, images.mixed),
    stagesMs: await stages(bundle, images.small, images.large, best.batch),
  };
}

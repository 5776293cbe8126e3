import { readFile } from 'node:fs/promises';
import { CUDA_MODEL_FILE } from '../model/model-dir';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../preprocess/limits';
import type { CalibrationStatistic } from '../quantize/calibrate';
import { calibrationImages, DEFAULT_CALIBRATION_IMAGES, imageBatches } from '../quantize/image-batches';
import { quantizeModel } from '../quantize/quantize';
import type { StageTimer } from './stage-timer';
import { DEFAULT_FEATURES_OUTPUT, mobileNetV2Spec, mobileNetV2SpecOverrides } from './backbone';
import { argmax, crossValidateL2, expandLabels, selectImages, type CvScore, type FoldedData } from './cross-validation';
import { mergeDatasets, readDataset, type Dataset } from './dataset';
import { extractFeatures, type FeatureMatrix } from './features';
import { evaluatePredictions, type Evaluation } from './metrics';
import { appendClassifierHead, featureBackbone } from './onnx-graph';
import { packModel } from './package';
import {
  DEFAULT_TRAIN_OPTIONS,
  fitStandardizer,
  foldStandardizer,
  predictProbabilities,
  standardize,
  trainSoftmaxRegression,
} from './softmax-regression';
import { verifyExport } from './verify';

export type Precision = 'int8' | 'float32';

export interface PipelineOptions {
  readonly data: string;
  readonly val?: string;
  readonly backbone: string;
  readonly out: string;
  readonly size: number;
  readonly precision: Precision;
  readonly seed: string;
  readonly folds: number;
  readonly l2Candidates: readonly number[];
  readonly iterations: number;
  readonly threads: number;
  readonly views: number;
  readonly trainOnly: boolean;
  /** A backbone tensor whose average-pooled channels are appended to the features. */
  readonly pooledExtra?: string;
  readonly calibration: { readonly images: number; readonly statistic: CalibrationStatistic; readonly weightBits: 7 | 8 };
}

/** What `npm run train` (and `npm run frontier`) use unless told otherwise. */
export const PIPELINE_DEFAULTS = {
  seed: '42',
  folds: 5,
  l2Candidates: [0.003, 0.01, 0.03, 0.1],
  iterations: DEFAULT_TRAIN_OPTIONS.iterations,
  views: 2,
  trainOnly: false,
  calibration: { images: DEFAULT_CALIBRATION_IMAGES, statistic: 'minmax', weightBits: 7 },
} as const satisfies Partial<PipelineOptions>;

/** Float features, and the int8 backbone's features of the same images when quantizing. */
interface Split {
  readonly dataset: Dataset;
  readonly float: FeatureMatrix;
  readonly int8?: FeatureMatrix;
}

/** What one graph (one backbone precision, its own head) scored. */
export interface PrecisionResult {
  readonly cv: { readonly scores: readonly CvScore[]; readonly best: CvScore };
  /** Val split, head fit on train only. */
  readonly val?: Evaluation;
}

export interface PipelineResult {
  readonly classes: readonly string[];
  readonly trainImages: number;
  readonly valImages: number;
  readonly float: PrecisionResult;
  readonly int8?: PrecisionResult;
  /** Share of val images where the int8 and float32 models give the same top-1 class. */
  readonly agreement?: number;
  readonly shippedOn: 'train' | 'train + val';
  readonly quantized?: { readonly convs: number; readonly adds: number; readonly calibrationImages: number };
  readonly exportDiff: { readonly model: number; readonly cuda?: number };
}

/** Which backbone's features: the float32 one or its int8 quantization. */
type FeatureSet = 'float' | 'int8';

function folded(split: Split, views: number, precision: FeatureSet): FoldedData {
  return { features: split[precision]!, labels: split.dataset.items.map((i) => i.label), views, classes: split.dataset.classes.length };
}

/** Fit standardiser + head on every image of `data`, all views. */
function fitHead(data: FoldedData, l2: number, iterations: number) {
  const images = data.labels.map((_, i) => i);
  const standardizer = fitStandardizer(data.features);
  const head = trainSoftmaxRegression(
    standardize(data.features, standardizer),
    expandLabels(data.labels, images, data.views),
    data.classes,
    { ...DEFAULT_TRAIN_OPTIONS, iterations, l2 },
  );
  return { standardizer, head };
}

type FittedHead = ReturnType<typeof fitHead>;

/** Probabilities of every view of the first `images` rows' images. */
function probabilitiesOf(fitted: FittedHead, features: FeatureMatrix, images: number, views: number): Float64Array {
  return predictProbabilities(
    fitted.head,
    standardize(
      selectImages(
        features,
        Array.from({ length: images }, (_, i) => i),
        views,
      ),
      fitted.standardizer,
    ),
  );
}

/** The class of the first (unmirrored) view of each image, as the server would see it. */
function predictedClasses(probs: Float64Array, views: number, classes: number): number[] {
  return Array.from({ length: probs.length / (views * classes) }, (_, i) =>
    argmax(probs.subarray(i * views * classes, (i * views + 1) * classes)),
  );
}

function mergeSplits(a: Split, b: Split): Split {
  const merge = (x: FeatureMatrix, y: FeatureMatrix): FeatureMatrix => {
    const data = new Float32Array(x.data.length + y.data.length);
    data.set(x.data);
    data.set(y.data, x.data.length);
    return { data, rows: x.rows + y.rows, dim: x.dim };
  };
  return { dataset: mergeDatasets(a.dataset, b.dataset), float: merge(a.float, b.float), int8: a.int8 && b.int8 && merge(a.int8, b.int8) };
}

/**
 * The whole of `npm run train`: features from the frozen backbone (float32, and int8 when
 * quantizing), L2 by cross-validation on train, the val report, the shipped head, the packed
 * model and its check against the training-time maths.
 *
 * When quantizing, the int8 graph (model.onnx, CPU) and the float32 graph (model.cuda.onnx)
 * are two models: the same backbone in two precisions, each with a head fit on its own features.
 */
export async function trainPipeline(options: PipelineOptions, timer: StageTimer): Promise<PipelineResult> {
  const spec = mobileNetV2Spec(options.size);
  const { views, iterations } = options;
  const floatBackbone = featureBackbone(await readFile(options.backbone), options.size, DEFAULT_FEATURES_OUTPUT, options.pooledExtra);
  const trainSet = await readDataset(options.data);
  const valSet = options.val ? await readDataset(options.val, trainSet.classes) : undefined;
  const calibrationFiles = calibrationImages(
    trainSet.items.map((i) => i.file),
    options.calibration.images,
  );
  const quantized =
    options.precision === 'int8'
      ? await timer.time('quantize backbone (calibrated on train)', () =>
          quantizeModel(floatBackbone, imageBatches(calibrationFiles, spec, DEFAULT_MAX_IMAGE_PIXELS), {
            ...options.calibration,
            threads: options.threads,
          }),
        )
      : undefined;
  const extract = (backbone: Uint8Array, dataset: Dataset, label: string) =>
    timer.time(`extract ${label} features`, () =>
      extractFeatures(
        dataset.items.map((i) => i.file),
        {
          backbone,
          outputName: DEFAULT_FEATURES_OUTPUT,
          spec,
          threads: options.threads,
          maxPixels: DEFAULT_MAX_IMAGE_PIXELS,
          withFlips: views > 1,
          label,
        },
      ),
    );
  const split = async (dataset: Dataset, label: string): Promise<Split> => ({
    dataset,
    float: await extract(floatBackbone, dataset, label),
    int8: quantized && (await extract(quantized.model, dataset, `${label} int8`)),
  });
  const train = await split(trainSet, 'train');
  const val = valSet && (await split(valSet, 'val'));

  // Each graph gets a head fit on its own backbone's features: the int8 backbone's features
  // are the float ones plus a fixed distortion, and a head that sees it makes up for most of it.
  const precisions: FeatureSet[] = quantized ? ['float', 'int8'] : ['float'];
  const truth = val?.dataset.items.map((i) => i.label) ?? [];
  const classes = trainSet.classes.length;
  const final = val && !options.trainOnly ? mergeSplits(train, val) : train;
  const results = new Map<FeatureSet, PrecisionResult & { shipped: FittedHead; valPredicted?: number[] }>();
  for (const precision of precisions) {
    const label = precision === 'float' ? 'float32' : 'int8';
    const cv = await timer.time(`cross-validate L2 on train (${label})`, () =>
      crossValidateL2(folded(train, views, precision), options.l2Candidates, options.folds, options.seed, {
        ...DEFAULT_TRAIN_OPTIONS,
        iterations,
      }),
    );
    let valPredicted: number[] | undefined;
    if (val) {
      const onTrain = await timer.time(`fit head on train (${label})`, () =>
        fitHead(folded(train, views, precision), cv.best.l2, iterations),
      );
      valPredicted = predictedClasses(probabilitiesOf(onTrain, val[precision]!, truth.length, views), views, classes);
    }
    const shipped = await timer.time(`fit shipped head on ${final === train ? 'train' : 'train+val'} (${label})`, () =>
      fitHead(folded(final, views, precision), cv.best.l2, iterations),
    );
    results.set(precision, { cv, val: valPredicted && evaluatePredictions(truth, valPredicted, trainSet.classes), shipped, valPredicted });
  }
  const float = results.get('float')!;
  const int8 = results.get('int8');

  const withHead = (backbone: Uint8Array, fitted: FittedHead) =>
    appendClassifierHead(
      backbone,
      DEFAULT_FEATURES_OUTPUT,
      { ...foldStandardizer(fitted.head, fitted.standardizer), dim: fitted.head.dim, classes: fitted.head.classes },
      options.size,
    );
  const floatModel = withHead(floatBackbone, float.shipped);
  const int8Model = quantized && int8 && withHead(quantized.model, int8.shipped);
  const exportDiff = await timer.time('pack + verify', async () => {
    await packModel(
      options.out,
      int8Model ? { model: int8Model, cuda: floatModel } : { model: floatModel },
      trainSet.classes,
      mobileNetV2SpecOverrides(options.size),
    );
    const sample = val ?? train;
    const files = sample.dataset.items.slice(0, 24).map((i) => i.file);
    const model = int8
      ? await verifyExport(options.out, files, probabilitiesOf(int8.shipped, sample.int8!, files.length, views), views)
      : undefined;
    const cuda = await verifyExport(
      options.out,
      files,
      probabilitiesOf(float.shipped, sample.float, files.length, views),
      views,
      int8 ? CUDA_MODEL_FILE : undefined,
    );
    return model === undefined ? { model: cuda } : { model, cuda };
  });
  const agreement =
    float.valPredicted && int8?.valPredicted && int8.valPredicted.filter((p, i) => p === float.valPredicted![i]).length / truth.length;
  return {
    classes: trainSet.classes,
    trainImages: trainSet.items.length,
    valImages: valSet?.items.length ?? 0,
    float: { cv: float.cv, val: float.val },
    int8: int8 && { cv: int8.cv, val: int8.val },
    agreement,
    shippedOn: final === train ? 'train' : 'train + val',
    quantized: quantized && { convs: quantized.quantizedConvs, adds: quantized.quantizedAdds, calibrationImages: calibrationFiles.length },
    exportDiff,
  };
}

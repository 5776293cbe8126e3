import seedrandom from 'seedrandom';
import type { FeatureMatrix } from './features';
import { fitStandardizer, predictProbabilities, standardize, trainSoftmaxRegression, type TrainOptions } from './softmax-regression';

/**
 * Rows of `x` for the given images; each image owns `views` consecutive rows (original,
 * mirror), so both views of an image always land on the same side of a split.
 */
export function selectImages(x: FeatureMatrix, images: readonly number[], views: number): FeatureMatrix {
  const data = new Float32Array(images.length * views * x.dim);
  images.forEach((image, i) => {
    data.set(x.data.subarray(image * views * x.dim, (image + 1) * views * x.dim), i * views * x.dim);
  });
  return { data, rows: images.length * views, dim: x.dim };
}

export function expandLabels(labels: readonly number[], images: readonly number[], views: number): Int32Array {
  const out = new Int32Array(images.length * views);
  images.forEach((image, i) => out.fill(labels[image]!, i * views, (i + 1) * views));
  return out;
}

/** Stratified k folds: each class's images are shuffled with the seed and dealt round-robin. */
export function stratifiedFolds(labels: readonly number[], folds: number, seed: string): number[][] {
  const random = seedrandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, image) => byClass.set(label, [...(byClass.get(label) ?? []), image]));
  const out: number[][] = Array.from({ length: folds }, () => []);
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const images = byClass.get(label)!;
    for (let i = images.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [images[i], images[j]] = [images[j]!, images[i]!];
    }
    for (const image of images) out[next++ % folds]!.push(image);
  }
  return out.map((fold) => fold.sort((a, b) => a - b));
}

export interface FoldedData {
  readonly features: FeatureMatrix;
  readonly labels: readonly number[];
  readonly views: number;
  readonly classes: number;
}

/** Fit on the training views of `trainImages`; predicted class of each (original) test image. */
export function fitAndPredict(
  data: FoldedData,
  trainImages: readonly number[],
  testImages: readonly number[],
  options: TrainOptions,
): number[] {
  const train = selectImages(data.features, trainImages, data.views);
  const standardizer = fitStandardizer(train);
  const head = trainSoftmaxRegression(
    standardize(train, standardizer),
    expandLabels(data.labels, trainImages, data.views),
    data.classes,
    options,
  );
  const test = standardize(selectImages(data.features, testImages, data.views), standardizer);
  const probs = predictProbabilities(head, test);
  // Only the first (original) view of each test image is scored: the server sees no mirror.
  return testImages.map((_, i) => argmax(probs.subarray(i * data.views * data.classes, (i * data.views + 1) * data.classes)));
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export interface CvScore {
  readonly l2: number;
  readonly accuracy: number;
}

/** Cross-validated accuracy for each candidate L2 strength; the best is chosen on train only. */
export function crossValidateL2(
  data: FoldedData,
  candidates: readonly number[],
  folds: number,
  seed: string,
  base: Omit<TrainOptions, 'l2'>,
) {
  const split = stratifiedFolds(data.labels, folds, seed);
  const scores: CvScore[] = candidates.map((l2) => {
    let correct = 0;
    split.forEach((testImages, f) => {
      const trainImages = split.filter((_, g) => g !== f).flat();
      const predicted = fitAndPredict(data, trainImages, testImages, { ...base, l2 });
      predicted.forEach((p, i) => (correct += p === data.labels[testImages[i]!] ? 1 : 0));
    });
    return { l2, accuracy: correct / data.labels.length };
  });
  // Ties go to the stronger regularisation: the simpler model generalises no worse.
  const best = scores.reduce((a, b) => (b.accuracy > a.accuracy || (b.accuracy === a.accuracy && b.l2 > a.l2) ? b : a));
  return { scores, best };
}

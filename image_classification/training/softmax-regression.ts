import type { FeatureMatrix } from './features';

/**
 * Multinomial logistic regression with L2 regularisation, trained full-batch with Adam.
 * Full-batch and no random initialisation make it deterministic: same features, same
 * weights. The problem is convex, so the optimiser only decides speed, not the answer.
 */

export interface Standardizer {
  readonly mean: Float64Array;
  /** 1 / standard deviation (0 for constant features). */
  readonly invStd: Float64Array;
}

export interface LinearHead {
  /** [classes][dim], row-major: one contiguous weight vector per class. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly dim: number;
  readonly classes: number;
}

export interface TrainOptions {
  readonly l2: number;
  readonly iterations: number;
  readonly learningRate: number;
}

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'l2'> = { iterations: 150, learningRate: 0.01 };

export function fitStandardizer(x: FeatureMatrix): Standardizer {
  const mean = new Float64Array(x.dim);
  const sq = new Float64Array(x.dim);
  for (let r = 0; r < x.rows; r++) {
    for (let d = 0, i = r * x.dim; d < x.dim; d++, i++) {
      mean[d]! += x.data[i]!;
      sq[d]! += x.data[i]! * x.data[i]!;
    }
  }
  const invStd = new Float64Array(x.dim);
  for (let d = 0; d < x.dim; d++) {
    mean[d]! /= x.rows;
    const variance = sq[d]! / x.rows - mean[d]! * mean[d]!;
    invStd[d] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0;
  }
  return { mean, invStd };
}

export function standardize(x: FeatureMatrix, s: Standardizer): FeatureMatrix {
  const data = new Float32Array(x.data.length);
  for (let r = 0; r < x.rows; r++) {
    for (let d = 0, i = r * x.dim; d < x.dim; d++, i++) data[i] = (x.data[i]! - s.mean[d]!) * s.invStd[d]!;
  }
  return { data, rows: x.rows, dim: x.dim };
}

/** Class probabilities [rows][classes] for (already standardised) features. */
export function predictProbabilities(head: LinearHead, x: FeatureMatrix): Float64Array {
  const { dim, classes, weights, bias } = head;
  const out = new Float64Array(x.rows * classes);
  for (let r = 0; r < x.rows; r++) {
    const row = r * dim;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) {
      let z = bias[k]!;
      for (let d = 0, w = k * dim; d < dim; d++, w++) z += x.data[row + d]! * weights[w]!;
      out[r * classes + k] = z;
      max = Math.max(max, z);
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += out[r * classes + k] = Math.exp(out[r * classes + k]! - max);
    for (let k = 0; k < classes; k++) out[r * classes + k]! /= sum;
  }
  return out;
}

export function crossEntropy(probabilities: Float64Array, labels: ArrayLike<number>, classes: number): number {
  let loss = 0;
  for (let r = 0; r < labels.length; r++) loss -= Math.log(Math.max(probabilities[r * classes + labels[r]!]!, 1e-12));
  return loss / labels.length;
}

export function trainSoftmaxRegression(x: FeatureMatrix, labels: ArrayLike<number>, classes: number, options: TrainOptions): LinearHead {
  const { dim, rows } = x;
  const params = dim * classes + classes;
  const theta = new Float64Array(params);
  const m = new Float64Array(params);
  const v = new Float64Array(params);
  const grad = new Float64Array(params);
  const head: LinearHead = { weights: theta.subarray(0, dim * classes), bias: theta.subarray(dim * classes), dim, classes };
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  for (let t = 1; t <= options.iterations; t++) {
    const probs = predictProbabilities(head, x);
    grad.fill(0);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < classes; k++) {
        const delta = (probs[r * classes + k]! - (labels[r] === k ? 1 : 0)) / rows;
        grad[dim * classes + k]! += delta;
        for (let d = 0, w = k * dim, i = r * dim; d < dim; d++, w++, i++) grad[w]! += delta * x.data[i]!;
      }
    }
    for (let w = 0; w < dim * classes; w++) grad[w]! += options.l2 * theta[w]!;
    const lr = (options.learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    for (let p = 0; p < params; p++) {
      m[p] = beta1 * m[p]! + (1 - beta1) * grad[p]!;
      v[p] = beta2 * v[p]! + (1 - beta2) * grad[p]! * grad[p]!;
      theta[p]! -= (lr * m[p]!) / (Math.sqrt(v[p]!) + eps);
    }
  }
  return head;
}

/**
 * Fold the standardisation into the head, so the exported graph takes raw backbone
 * features: W'[d][k] = W[k][d] / std[d], b'[k] = b[k] - Σ_d mean[d] · W'[d][k].
 * Returned as [dim][classes] (ONNX Gemm's B layout).
 */
export function foldStandardizer(head: LinearHead, s: Standardizer): { weights: Float32Array; bias: Float32Array } {
  const { dim, classes } = head;
  const weights = new Float32Array(dim * classes);
  const bias = new Float32Array(classes);
  for (let k = 0; k < classes; k++) {
    let shift = 0;
    for (let d = 0; d < dim; d++) {
      const w = head.weights[k * dim + d]! * s.invStd[d]!;
      weights[d * classes + k] = w;
      shift += s.mean[d]! * w;
    }
    bias[k] = head.bias[k]! - shift;
  }
  return { weights, bias };
}

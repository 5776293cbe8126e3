import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ort } from '../../image_classification/runtime/onnxruntime';
import { DEFAULT_BACKBONE, DEFAULT_FEATURES_OUTPUT, DEFAULT_POOLED_EXTRA } from '../../image_classification/training/backbone';
import { featureBackbone } from '../../image_classification/training/onnx-graph';
import { stratifiedFolds, selectImages, expandLabels } from '../../image_classification/training/cross-validation';
import { mirrorHorizontally } from '../../image_classification/preprocess/image';
import { evaluatePredictions, formatEvaluation } from '../../image_classification/training/metrics';
import {
  crossEntropy,
  fitStandardizer,
  foldStandardizer,
  predictProbabilities,
  standardize,
  trainSoftmaxRegression,
} from '../../image_classification/training/softmax-regression';

/** Three well-separated Gaussian-ish blobs in 4-D, built from a fixed formula (no RNG). */
function blobs(perClass: number) {
  const rows: number[] = [];
  const labels: number[] = [];
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < perClass; i++) {
      const jitter = Math.sin(i * 12.9898 + k * 78.233) * 0.5;
      rows.push(k === 0 ? 5 : 0, k === 1 ? 5 : 0, k === 2 ? 5 : 0, 10 + jitter);
      labels.push(k);
    }
  }
  return { x: { data: Float32Array.from(rows), rows: labels.length, dim: 4 }, labels };
}

test('softmax regression separates separable classes and lowers the loss', () => {
  const { x, labels } = blobs(20);
  const s = fitStandardizer(x);
  const z = standardize(x, s);
  const untrained = trainSoftmaxRegression(z, labels, 3, { l2: 0.01, iterations: 0, learningRate: 0.05 });
  const head = trainSoftmaxRegression(z, labels, 3, { l2: 0.01, iterations: 200, learningRate: 0.05 });
  const probs = predictProbabilities(head, z);
  assert.ok(crossEntropy(probs, labels, 3) < crossEntropy(predictProbabilities(untrained, z), labels, 3) / 5);
  labels.forEach((label, r) =>
    assert.equal(probs.subarray(r * 3, r * 3 + 3).indexOf(Math.max(...probs.subarray(r * 3, r * 3 + 3))), label),
  );
  const again = trainSoftmaxRegression(z, labels, 3, { l2: 0.01, iterations: 200, learningRate: 0.05 });
  assert.deepEqual(again.weights, head.weights, 'deterministic');
});

test('folding the standardiser into the weights gives the same logits on raw features', () => {
  const { x, labels } = blobs(5);
  const s = fitStandardizer(x);
  const head = trainSoftmaxRegression(standardize(x, s), labels, 3, { l2: 0.1, iterations: 50, learningRate: 0.05 });
  const expected = predictProbabilities(head, standardize(x, s));
  const folded = foldStandardizer(head, s);
  for (let r = 0; r < x.rows; r++) {
    const logits = [0, 1, 2].map(
      (k) => folded.bias[k]! + [0, 1, 2, 3].reduce((a, d) => a + x.data[r * 4 + d]! * folded.weights[d * 3 + k]!, 0),
    );
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    exp.forEach((e, k) => assert.ok(Math.abs(e / sum - expected[r * 3 + k]!) < 1e-5));
  }
});

test('stratified folds are balanced, disjoint and fixed by the seed', () => {
  const labels = [...Array(10).fill(0), ...Array(7).fill(1), ...Array(5).fill(2)];
  const folds = stratifiedFolds(labels, 3, 'seed');
  assert.deepEqual(
    folds.flat().sort((a, b) => a - b),
    labels.map((_, i) => i),
  );
  for (const fold of folds) assert.ok(fold.length >= 7 && fold.length <= 8);
  assert.deepEqual(stratifiedFolds(labels, 3, 'seed'), folds);
  assert.notDeepEqual(stratifiedFolds(labels, 3, 'other'), folds);
});

test('both views of an image travel together', () => {
  const x = { data: Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]), rows: 4, dim: 2 };
  assert.deepEqual([...selectImages(x, [1], 2).data], [2, 2, 3, 3]);
  assert.deepEqual([...expandLabels([7, 9], [1, 0], 2)], [9, 9, 7, 7]);
  assert.deepEqual(
    [...mirrorHorizontally(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 2)],
    [4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9],
  );
});

test('metrics: accuracy, precision, recall and the confusion matrix', () => {
  const ev = evaluatePredictions([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ['a', 'b', 'c']);
  assert.deepEqual(ev.confusion, [
    [1, 1, 0],
    [0, 2, 0],
    [1, 0, 0],
  ]);
  assert.equal(ev.accuracy, 3 / 5);
  assert.deepEqual(
    ev.perClass.map((m) => [m.precision, m.recall]),
    [
      [0.5, 0.5],
      [2 / 3, 1],
      [0, 0],
    ],
  );
  assert.match(formatEvaluation(ev), /Accuracy: \*\*60\.0%\*\* \(3\/5\)/);
});

test('feature backbone: the ImageNet classifier pruned; a pooled block appended to the features when asked', async () => {
  const backbone = await readFile(DEFAULT_BACKBONE);
  const run = async (model: Uint8Array) => {
    const session = await ort.InferenceSession.create(model);
    const input = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 96 * 96 }, (_, i) => Math.sin(i)),
      [1, 3, 96, 96],
    );
    const out = await session.run({ [session.inputNames[0]!]: input });
    assert.deepEqual(session.outputNames, [DEFAULT_FEATURES_OUTPUT]);
    return out[DEFAULT_FEATURES_OUTPUT]!.data as Float32Array;
  };
  const final = await run(featureBackbone(backbone, 96, DEFAULT_FEATURES_OUTPUT));
  const richer = await run(featureBackbone(backbone, 96, DEFAULT_FEATURES_OUTPUT, DEFAULT_POOLED_EXTRA));
  assert.equal(final.length, 1280);
  assert.equal(richer.length, 1280 + 96, 'the last 96-channel block, pooled');
  assert.deepEqual(richer.subarray(0, 1280), final, 'the final features come first, unchanged');
});

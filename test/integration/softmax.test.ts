import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ort } from '../../image_classification/runtime/onnxruntime';
import request from 'supertest';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { loadShippedPipeline, sample, silentLogger, testConfig } from '../../harness/helpers';
import { npyWithHeader } from '../../harness/hostile/hostile-bodies';
import { TINY_INPUT, TINY_LABELS, tinyModelDir } from '../../harness/tiny-model';

/**
 * `apply_softmax` (preprocessing.json; default `auto`): what the answer's probabilities are,
 * checked against ONNX Runtime run directly on the same tensor. The tiny model has no
 * preprocessing.json, so the built-in defaults apply: a 224 crop.
 */

const SHAPE = [2, 3, 224, 224] as const;

/** Two images with different per-channel levels, so their scores differ. */
function tensor(): Float32Array {
  const levels = [
    [1.5, -0.5, 0.2],
    [-1, 2, 0.7],
  ];
  const plane = SHAPE[2] * SHAPE[3];
  const data = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
  for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) data.fill(levels[n]![c]!, (n * 3 + c) * plane, (n * 3 + c + 1) * plane);
  return data;
}

/** ONNX Runtime's own output rows for `data`. */
async function ortRows(modelDir: string, data: Float32Array): Promise<number[][]> {
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'));
  try {
    const outputs = await session.run({ [TINY_INPUT]: new ort.Tensor('float32', data, [...SHAPE]) });
    const out = outputs[session.outputNames[0]!]!.data as Float32Array;
    return [Array.from(out.subarray(0, 3)), Array.from(out.subarray(3, 6))];
  } finally {
    await session.release();
  }
}

const softmax = (row: number[]) => {
  const exps = row.map((v) => Math.exp(v));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
};

/** The served probabilities for the tensor, one row per image, label order; and the sum of a photo's. */
async function served(modelDir: string, data: Float32Array): Promise<{ rows: number[][]; photoSum: number }> {
  const pipeline = await loadShippedPipeline({}, modelDir);
  try {
    const state = new ModelState();
    state.ready(pipeline);
    const app = createApp({ config: testConfig(), state, logger: silentLogger });
    const body = npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${SHAPE.join(', ')}), }`, Buffer.from(data.buffer));
    const res = await request(app).post('/invocations').type('application/x-npy').send(body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const photo = await request(app)
      .post('/invocations')
      .type('image/jpeg')
      .send(await sample('glass.jpg'));
    assert.equal(photo.status, 200, JSON.stringify(photo.body));
    const photoSum = Object.values(photo.body.predictions.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
    const rows = (res.body.predictions as { probabilities: Record<string, number> }[]).map((p) =>
      TINY_LABELS.map((l) => p.probabilities[l]!),
    );
    return { rows, photoSum };
  } finally {
    await pipeline.close();
  }
}

function assertClose(actual: number[][], expected: number[][]): void {
  for (const [i, row] of expected.entries()) {
    for (const [j, value] of row.entries())
      assert.ok(Math.abs(actual[i]![j]! - value) < 1e-5, `image ${i} class ${j}: ${actual[i]![j]} vs ${value}`);
  }
}

test('auto, a model that outputs logits: the answer is the softmax of its output', async () => {
  const dir = await tinyModelDir({ softmax: false });
  const data = tensor();
  const logits = await ortRows(dir, data);
  assert.ok(
    logits.flat().some((v) => v < 0),
    `the logits are no distribution: ${logits}`,
  );
  const answer = await served(dir, data);
  assertClose(answer.rows, logits.map(softmax));
  assert.ok(Math.abs(answer.photoSum - 1) < 1e-5, `a photo's probabilities sum to ${answer.photoSum}`);
});

test('auto, a model that outputs probabilities: its output as is', async () => {
  const dir = await tinyModelDir({ softmax: true });
  const data = tensor();
  const probabilities = await ortRows(dir, data);
  assertClose((await served(dir, data)).rows, probabilities);
});

test('apply_softmax true and false override the guess', async () => {
  const logitsDir = await tinyModelDir({ softmax: false });
  const data = tensor();
  const logits = await ortRows(logitsDir, data);
  await writeFile(path.join(logitsDir, 'preprocessing.json'), '{"apply_softmax": false}');
  assertClose((await served(logitsDir, data)).rows, logits);
  const probsDir = await tinyModelDir({ softmax: true, preprocessing: { apply_softmax: true } });
  const probabilities = await ortRows(probsDir, data);
  assertClose((await served(probsDir, data)).rows, probabilities.map(softmax));
});

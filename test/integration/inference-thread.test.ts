import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { test } from 'node:test';
import { ndarray, toNumbers } from '../../image_classification/codecs/ndarray';
import { loadOnnxModel } from '../../image_classification/runtime/onnx-model';
import { ModelLoadError } from '../../image_classification/errors';
import { InferenceClient } from '../../image_classification/runtime/inference-client';
import { shippedBundle } from '../../harness/helpers';

const options = { device: 'cpu' as const, intraOpThreads: 1 };

test('inference runs on its own thread and returns one row per image', async () => {
  const client = await InferenceClient.start((await shippedBundle()).onnxPath, options, 'silent');
  const output = await client.run({ input: ndarray('float32', [2, 3, 384, 384]) }, ['probabilities']);
  assert.deepEqual(output.probabilities!.shape, [2, 3]);
  assert.equal(output.probabilities!.data.length, 2 * 3);
  await client.close();
});

test('a batched feed runs the same whether its images come as one part or several, and its buffers come back', async () => {
  const client = await InferenceClient.start((await shippedBundle()).onnxPath, options, 'silent');
  const image = 3 * 384 * 384;
  const values = Float32Array.from({ length: 2 * image }, (_, i) => Math.sin(i));
  const whole = await client.tensorBuffer(2 * image);
  whole.set(values);
  const [first, second] = [await client.tensorBuffer(image), await client.tensorBuffer(image)];
  first.set(values.subarray(0, image));
  second.set(values.subarray(image));
  const one = await client.run({ input: { shape: [2, 3, 384, 384], parts: [whole] } }, ['probabilities']);
  const two = await client.run({ input: { shape: [2, 3, 384, 384], parts: [first, second] } }, ['probabilities']);
  assert.deepEqual(toNumbers(two.probabilities!), toNumbers(one.probabilities!));
  assert.equal(whole.length, 0, 'sent to the thread: detached here');
  const returned = await client.tensorBuffer(2 * image);
  assert.equal(returned.length, 2 * image);
  assert.deepEqual(returned.subarray(0, 4), values.subarray(0, 4), 'the buffer the first run sent, handed back with its contents');
  await client.close();
});

test('a model ORT cannot load is a ModelLoadError', async () => {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'bad-onnx-')), 'model.onnx');
  await writeFile(file, 'not a protobuf');
  await assert.rejects(InferenceClient.start(file, options, 'silent'), ModelLoadError);
});

test('if the thread dies, pending runs fail and the owner is told', async () => {
  const failures: Error[] = [];
  const client = await InferenceClient.start((await shippedBundle()).onnxPath, options, 'silent', (error) => failures.push(error));
  const pending = client.run({ input: ndarray('float32', [1, 3, 384, 384]) }, ['probabilities']);
  // Simulate a crash of the thread (not a close(), which is a deliberate stop).
  await (client as unknown as { thread: Worker }).thread.terminate();
  // The in-flight run may just have finished before the thread stopped; if not, it must fail.
  await pending.then(
    () => undefined,
    (error: Error) => assert.match(error.message, /inference thread exited/),
  );
  assert.equal(failures.length, 1);
  await assert.rejects(client.run({ input: ndarray('float32', [1, 3, 384, 384]) }, ['probabilities']), /exited/);
});

test('concurrent runs on one thread each get their own answer (no shared input buffer)', async () => {
  const model = await loadOnnxModel((await shippedBundle()).onnxPath, options);
  try {
    const image = (value: number) => ({ input: { shape: [1, 3, 384, 384], parts: [new Float32Array(3 * 384 * 384).fill(value)] } });
    const values = [-1, 1, -0.5, 0.5, 0, 0.9];
    const alone: number[][] = [];
    for (const value of values) alone.push(toNumbers((await model.run(image(value), ['probabilities'])).probabilities!));
    const together = await Promise.all(values.map((value) => model.run(image(value), ['probabilities'])));
    assert.deepEqual(
      together.map((output) => toNumbers(output.probabilities!)),
      alone,
    );
  } finally {
    await model.close();
  }
});

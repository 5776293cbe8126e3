import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import request from 'supertest';
import { decodeNpy } from '../../image_classification/codecs/npy';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { DATA_DIR, loadShippedPipeline, ROOT, sample, SHIPPED_ARCHIVE, silentLogger, testConfig } from '../../harness/helpers';

test("the README's NPY example: `npm run tensor` writes the model's input, answered as the photo is", async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'tensor-'));
  const cli = await promisify(execFile)(process.execPath, [
    path.join(ROOT, 'dist/image_classification/cli/tensor.js'),
    '--model',
    SHIPPED_ARCHIVE,
    '--out',
    out,
    path.join(DATA_DIR, 'glass.jpg'),
  ]);
  const file = path.join(out, 'glass.npy');
  assert.equal(cli.stdout.trim(), file);
  assert.deepEqual(decodeNpy(await readFile(file)).shape, [1, 3, 384, 384], 'the shipped model takes 384 × 384');

  const pipeline = await loadShippedPipeline();
  try {
    const state = new ModelState();
    state.ready(pipeline);
    const app = createApp({ config: testConfig(), state, logger: silentLogger });
    const fromTensor = await request(app)
      .post('/invocations')
      .set('Content-Type', 'application/x-npy')
      .send(await readFile(file));
    assert.equal(fromTensor.status, 200, JSON.stringify(fromTensor.body));
    const fromPhoto = await request(app)
      .post('/invocations')
      .set('Content-Type', 'image/jpeg')
      .send(await sample('glass.jpg'));
    const [answer] = fromTensor.body.predictions as { class: string; probability: number }[];
    assert.equal(answer!.class, 'glass');
    assert.ok(Math.abs(answer!.probability - fromPhoto.body.predictions.probability) < 1e-5);
  } finally {
    await pipeline.close();
  }
});

test('`npm run tensor` follows a model directory without preprocessing.json with the documented defaults (224 × 224)', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'tensor-'));
  await promisify(execFile)(process.execPath, [
    path.join(ROOT, 'dist/image_classification/cli/tensor.js'),
    '--model',
    path.join(ROOT, 'model', 'backbone'),
    '--out',
    out,
    path.join(DATA_DIR, 'paper.jpg'),
  ]);
  assert.deepEqual(decodeNpy(await readFile(path.join(out, 'paper.npy'))).shape, [1, 3, 224, 224]);
});

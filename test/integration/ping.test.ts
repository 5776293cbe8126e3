import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import request from 'supertest';
import { publicStartupFailure } from '../../image_classification/errors';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { readModelBundle } from '../../image_classification/model/model-dir';
import { loadShippedPipeline, sample, shippedModelCopy, silentLogger, testConfig } from '../../harness/helpers';

test('/ping is 503 while loading, 200 once the model is loaded and warm', async () => {
  const state = new ModelState();
  const app = createApp({ config: testConfig(), state, logger: silentLogger });
  const loading = await request(app).get('/ping');
  assert.equal(loading.status, 503);
  assert.equal(loading.body.status, 'loading');
  const refused = await request(app)
    .post('/invocations')
    .type('image/jpeg')
    .send(await sample('glass.jpg'));
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error.code, 'model_not_ready');

  const pipeline = await loadShippedPipeline();
  state.ready(pipeline);
  try {
    const ready = await request(app).get('/ping');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'healthy', provider: 'cpu', handler: 'built-in' });
  } finally {
    await pipeline.close();
  }
});

test('/ping stays 503 with a code and a reason that names no absolute path; invocations say the load failed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broken-model-'));
  await writeFile(path.join(dir, 'labels.json'), '["a"]');
  const state = new ModelState();
  await readModelBundle(dir).catch((error: unknown) => state.fail(publicStartupFailure(error, 'model_load_failed')));
  const app = createApp({ config: testConfig(), state, logger: silentLogger });
  const res = await request(app).get('/ping');
  assert.equal(res.status, 503);
  assert.equal(res.body.status, 'failed');
  assert.equal(res.body.code, 'model_not_found');
  assert.match(res.body.reason, /model\.onnx is missing/);
  assert.doesNotMatch(res.body.reason, new RegExp(os.tmpdir()));
  const refused = await request(app).post('/invocations').type('image/jpeg').send(Buffer.from('x'));
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error.code, 'model_not_ready');
  assert.match(refused.body.error.message, /^the model failed to load \(model_not_found: model\.onnx is missing/);
});

test('labels.json: repeated names, __proto__ and unparseable files are refused or kept exactly, and never quoted', async () => {
  const dir = await shippedModelCopy();
  const reasonFor = async (labels: string) => {
    await writeFile(path.join(dir, 'labels.json'), labels);
    try {
      await readModelBundle(dir);
      return undefined;
    } catch (error) {
      return publicStartupFailure(error, 'model_load_failed');
    }
  };
  assert.deepEqual(await reasonFor('["glass", "glass", "plastic"]'), {
    code: 'model_invalid',
    reason: 'labels.json must be a non-empty JSON array of distinct class names',
  });
  assert.deepEqual(await reasonFor('["secret-token-123", '), { code: 'model_invalid', reason: 'labels.json is not valid JSON' });
  assert.equal(await reasonFor('["__proto__", "=cmd|calc", "plastic"]'), undefined, 'odd but distinct names are a valid model');

  // Served, every class keeps its own key and column, and CSV never starts a cell with a formula.
  const pipeline = await loadShippedPipeline({}, dir);
  try {
    const state = new ModelState();
    state.ready(pipeline);
    const app = request(createApp({ config: testConfig(), state, logger: silentLogger }));
    const json = await app
      .post('/invocations')
      .type('image/jpeg')
      .send(await sample('plastic.jpg'));
    assert.deepEqual(Object.keys(json.body.predictions.probabilities), ['__proto__', '=cmd|calc', 'plastic']);
    const sum = Object.values(json.body.predictions.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-3);
    const csv = await app
      .post('/invocations')
      .type('image/jpeg')
      .set('Accept', 'text/csv')
      .send(await sample('paper.jpg'));
    const [header, row] = csv.text.trim().split('\n');
    assert.equal(header, "class,probability,__proto__,'=cmd|calc,plastic");
    assert.doesNotMatch(row!, /NaN|object/);
    assert.match(row!, /^'=cmd\|calc,/, 'paper is the second class: its renamed label leads the row');
  } finally {
    await pipeline.close();
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import request from 'supertest';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { readModelBundle } from '../../image_classification/model/model-dir';
import { loadShippedPipeline, sample, silentLogger, testConfig } from '../helpers';

test('/ping is 503 while loading, 200 once the model is loaded and warm', async () => {
  const state = new ModelState();
  const app = createApp({ config: testConfig(), state, logger: silentLogger });
  const loading = await request(app).get('/ping');
  assert.equal(loading.status, 503);
  assert.equal(loading.body.status, 'loading');
  const refused = await request(app).post('/invocations').type('image/jpeg').send(await sample('glass.jpg'));
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

test('/ping stays 503 with the reason when the model cannot load', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'broken-model-'));
  await writeFile(path.join(dir, 'labels.json'), '["a"]');
  const state = new ModelState();
  await readModelBundle(dir).catch((error: Error) => state.fail(error.message));
  const res = await request(createApp({ config: testConfig(), state, logger: silentLogger })).get('/ping');
  assert.equal(res.status, 503);
  assert.equal(res.body.status, 'failed');
  assert.match(res.body.reason, /model\.onnx is missing/);
});

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import request from 'supertest';
import { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { WorkerMetrics } from '../../image_classification/metrics/worker-metrics';
import { pipelineOptions } from '../../image_classification/settings';
import { loadShippedPipeline, modelDirWithHandler, sample, shippedBundle, silentLogger, testConfig } from '../../harness/helpers';

const pipelines: HandlerPipeline[] = [];
after(() => Promise.all(pipelines.map((pipeline) => pipeline.close())));

async function app(pipeline: HandlerPipeline, metrics?: WorkerMetrics) {
  pipelines.push(pipeline);
  const state = new ModelState();
  state.ready(pipeline);
  return request(createApp({ config: testConfig(), state, logger: silentLogger, metrics }));
}

const custom = async (source: string) =>
  app(
    await HandlerPipeline.load(await modelDirWithHandler(source), pipelineOptions(testConfig({ INFERENCE_DEVICE: 'cpu' })), silentLogger),
  );

const stageNames = (header: string | undefined) => (header ?? '').split(', ').map((entry) => entry.split(';')[0]);

test("a custom handler's hooks are timed as its stages: inputFn preprocess, predictFn inference, outputFn encode", async () => {
  const server = await custom(`
    exports.modelFn = () => ({});
    exports.inputFn = (body) => body.length;
    exports.predictFn = (length) => new Promise((resolve) => setTimeout(() => resolve({ length }), 20));
    exports.outputFn = (prediction) => JSON.stringify(prediction);`);
  const res = await server.post('/invocations').type('application/octet-stream').send(Buffer.from('12345'));
  assert.equal(res.status, 200);
  assert.deepEqual(stageNames(res.headers['server-timing']), ['body_read', 'preprocess', 'inference', 'encode', 'total']);
  const inference = /inference;dur=([\d.]+)/.exec(res.headers['server-timing']!);
  assert.ok(Number(inference![1]) >= 19, `the 20 ms predictFn is the inference stage: ${res.headers['server-timing']}`);
});

test('a transformFn is one stage, `handler`', async () => {
  const server = await custom(`
    exports.modelFn = () => ({});
    exports.transformFn = (model, body) => ({ body: String(body.length), contentType: 'text/plain' });`);
  const res = await server.post('/invocations').type('application/octet-stream').send(Buffer.from('123'));
  assert.equal(res.status, 200);
  assert.deepEqual(stageNames(res.headers['server-timing']), ['body_read', 'handler', 'total']);
});

const invocationCounts = async (metrics: WorkerMetrics) =>
  Object.fromEntries(
    (await metrics.snapshot()).metrics
      .find((metric) => metric.name === 'model_server_invocations_total')!
      .values.map((v) => [`${v.labels.status} ${v.labels.content_type}`, v.value]),
  );

test('a worker counts each invocation once, by status and media type (an unknown one as `other`)', async () => {
  const metrics = new WorkerMetrics('0');
  const server = await app(await loadShippedPipeline({ INFERENCE_DEVICE: 'cpu' }), metrics);
  assert.equal(
    (
      await server
        .post('/invocations')
        .type('image/jpeg')
        .send(await sample('paper.jpg'))
    ).status,
    200,
  );
  assert.equal((await server.post('/invocations').type('image/jpeg').send(Buffer.from('no'))).status, 400);
  assert.equal((await server.post('/invocations').type('Text/Weird; x=1').send('x')).status, 415);
  assert.deepEqual(await invocationCounts(metrics), { '200 image/jpeg': 1, '400 image/jpeg': 1, '415 other': 1 });
  const slots = (await metrics.snapshot()).metrics.find((metric) => metric.name === 'model_server_admission_slots')!;
  assert.deepEqual(
    slots.values.map((v) => v.value),
    [32],
  );
});

test('a client that leaves before its answer is counted once, as 499', async () => {
  const metrics = new WorkerMetrics('0');
  const entered = new Promise<void>((resolve) => Object.assign(globalThis, { __stageTimingEntered: resolve }));
  const pipeline = await HandlerPipeline.load(
    await modelDirWithHandler(`
      exports.modelFn = () => ({});
      exports.predictFn = () => {
        globalThis.__stageTimingEntered();
        return new Promise((resolve) => setTimeout(() => resolve([1]), 500));
      };`),
    pipelineOptions(testConfig({ INFERENCE_DEVICE: 'cpu' })),
    silentLogger,
  );
  pipelines.push(pipeline);
  const state = new ModelState();
  state.ready(pipeline);
  const server = http.createServer(createApp({ config: testConfig(), state, logger: silentLogger, metrics }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = http.request({
    port,
    host: '127.0.0.1',
    method: 'POST',
    path: '/invocations',
    headers: { 'Content-Type': 'application/json' },
  });
  client.on('error', () => undefined); // the socket this test destroys
  client.end('[1]');
  await entered;
  client.destroy();
  for (let tries = 0; tries < 100 && Object.keys(await invocationCounts(metrics)).length === 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(await invocationCounts(metrics), { '499 application/json': 1 });
  server.close();
});

test('requests that share a batch each get their own queue and inference stages', async () => {
  const sizes: number[] = [];
  const config = testConfig({ INFERENCE_DEVICE: 'cpu', MODEL_SERVER_MAX_BATCH_SIZE: '4', MODEL_SERVER_MAX_BATCH_DELAY_MS: '50' });
  const pipeline = await HandlerPipeline.load(
    (await shippedBundle()).dir,
    pipelineOptions(config, { onBatch: (images) => sizes.push(images) }),
    silentLogger,
  );
  const server = await app(pipeline);
  sizes.length = 0; // the warm-up's runs
  const jpeg = await sample('paper.jpg');
  const answers = await Promise.all(Array.from({ length: 8 }, () => server.post('/invocations').type('image/jpeg').send(jpeg)));
  assert.ok(
    sizes.some((size) => size > 1),
    `some requests shared a run: ${sizes.join(', ')}`,
  );
  for (const res of answers) {
    assert.equal(res.status, 200);
    assert.deepEqual(stageNames(res.headers['server-timing']), ['body_read', 'preprocess', 'queue', 'inference', 'encode', 'total']);
  }
});

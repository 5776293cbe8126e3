import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import request from 'supertest';
import { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { pipelineOptions } from '../../image_classification/settings';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { Predictor } from '../../image_classification/classifier/predictor';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../../image_classification/preprocess/limits';
import { modelDirWithHandler, sample, shippedBundle, silentLogger, testConfig } from '../../harness/helpers';
import { tinyJpegList } from '../../harness/hostile/hostile-bodies';

/**
 * Work per request is bounded by settings, not by what a request holds: ONNX Runtime runs
 * never exceed the batch size, a timeout or a departed client stops what has not started, and
 * an admission slot is held until the request's work has really settled.
 */

const closing: { close(): Promise<void> }[] = [];
after(() => Promise.all(closing.map((item) => item.close())));

async function predictorWithBatch(maxBatchSize: number, onBatch: (images: number) => void): Promise<Predictor> {
  const options = {
    device: 'cpu' as const,
    intraOpThreads: 1,
    maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
    batching: { maxBatchSize, maxDelayMs: 0 },
    onBatch,
  };
  const predictor = await Predictor.load(await shippedBundle(), options, silentLogger);
  closing.push(predictor);
  return predictor;
}

test('a request of 10 images runs in parts of at most the batch size, answers in order', async () => {
  const sizes: number[] = [];
  const predictor = await predictorWithBatch(4, (images) => sizes.push(images));
  sizes.length = 0; // the warm-up's runs
  const photos = await Promise.all(['glass.jpg', 'paper.jpg', 'plastic.jpg'].map(sample));
  const images = Array.from({ length: 10 }, (_, i) => photos[i % 3]!);
  const rows = await predictor.predict(images);
  assert.deepEqual(sizes, [4, 4, 2]);
  assert.deepEqual(
    rows.map((row) => row.class),
    images.map((_, i) => ['glass', 'paper', 'plastic'][i % 3]),
  );
});

test('an aborted request stops: nothing after the run in flight', async () => {
  const sizes: number[] = [];
  const predictor = await predictorWithBatch(1, (images) => sizes.push(images));
  sizes.length = 0;
  const controller = new AbortController();
  const photo = await sample('paper.jpg');
  const work = predictor.predict(
    Array.from({ length: 40 }, () => photo),
    controller.signal,
  );
  while (sizes.length === 0) await new Promise((r) => setImmediate(r));
  controller.abort(new Error('client left'));
  await assert.rejects(work, /client left/);
  assert.ok(sizes.length <= 2, `${sizes.length} runs of 40 happened`);
});

test('a request aborted while its part waits behind another leaves nothing announced to the batcher', async () => {
  const sizes: number[] = [];
  const predictor = await predictorWithBatch(1, (images) => sizes.push(images));
  sizes.length = 0;
  const photo = await sample('paper.jpg');
  const controller = new AbortController();
  // Three other requests keep the queue full, so the aborted request's part is waiting in it.
  const others = Array.from({ length: 3 }, () => predictor.predict(Array.from({ length: 8 }, () => photo)));
  const aborted = predictor.predict(
    Array.from({ length: 8 }, () => photo),
    controller.signal,
  );
  while (sizes.length < 4) await new Promise((r) => setImmediate(r));
  controller.abort(new Error('client left'));
  await assert.rejects(aborted, /client left/);
  for (const other of others) assert.equal((await other).length, 8);
  // Images announced as "being decoded" make an idle batcher wait MODEL_SERVER_MAX_BATCH_DELAY_MS
  // for them; a part that will never be submitted must not stay announced.
  assert.equal((predictor as unknown as { batcher: { incoming: number } }).batcher.incoming, 0);
});

test('64 tiny images in a 23 kB JSON body: 64 answers, every ONNX Runtime run one image on the CPU', async () => {
  const sizes: number[] = [];
  const config = testConfig({ INFERENCE_DEVICE: 'cpu' });
  const pipeline = await HandlerPipeline.load(
    (await shippedBundle()).dir,
    { ...pipelineOptions(config), predictor: { ...pipelineOptions(config).predictor, onBatch: (n) => sizes.push(n) } },
    silentLogger,
  );
  closing.push(pipeline);
  sizes.length = 0;
  const state = new ModelState();
  state.ready(pipeline);
  const res = await request(createApp({ config, state, logger: silentLogger }))
    .post('/invocations')
    .type('application/json')
    .send((await tinyJpegList(64)).toString());
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.predictions.length, 64);
  assert.equal(sizes.length, 64);
  assert.ok(sizes.every((size) => size === 1));
});

/** A handler whose predictFn waits for the test (globalThis), ignoring its signal on purpose. */
const GATED_HANDLER = `
exports.predictFn = async (input, model, ctx) => {
  globalThis.gate.started(ctx.signal);
  await globalThis.gate.opened;
  return [[1]];
};`;

test('a timed-out request answers 504 but keeps its slot until its work settles; the hook sees the abort', async () => {
  const dir = await modelDirWithHandler(GATED_HANDLER);
  const env = { INFERENCE_DEVICE: 'cpu', SAGEMAKER_MODEL_SERVER_TIMEOUT: '0.2', MODEL_SERVER_MAX_QUEUE: '1' };
  const config = testConfig(env);
  const pipeline = await HandlerPipeline.load(dir, pipelineOptions(config), silentLogger);
  closing.push(pipeline);
  const state = new ModelState();
  state.ready(pipeline);
  const app = request(createApp({ config, state, logger: silentLogger }));

  let open!: () => void;
  let seen: AbortSignal | undefined;
  (globalThis as Record<string, unknown>).gate = {
    opened: new Promise<void>((r) => (open = r)),
    started: (signal: AbortSignal) => (seen = signal),
  };
  const photo = await sample('glass.jpg');
  const first = await app.post('/invocations').type('image/jpeg').send(photo);
  assert.equal(first.status, 504);
  assert.equal(first.body.error.code, 'timeout');
  assert.equal(seen?.aborted, true, 'the hook was told');

  const second = await app.post('/invocations').type('image/jpeg').send(photo);
  assert.equal(second.status, 503, 'the only slot is still held by the timed-out work');
  assert.equal(second.body.error.code, 'overloaded');

  (globalThis as Record<string, unknown>).gate = { opened: Promise.resolve(), started: () => undefined };
  open();
  await new Promise((r) => setImmediate(r));
  const third = await app.post('/invocations').type('image/jpeg').send(photo);
  assert.equal(third.status, 200, 'the slot came back once the work settled');
});

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import type { Express } from 'express';
import type { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { DATA_DIR, FIXTURE_TREE, loadShippedPipeline, silentLogger, testConfig } from '../../harness/helpers';
import { npyWithHeader } from '../../harness/hostile/hostile-bodies';
import { TINY_LABELS, tinyModelDir } from '../../harness/tiny-model';

/**
 * The README's "64 images per request": real photos and real tensors at the limit and one
 * over it. The tiny model (32 × 32 crop) keeps 65 images' tensor under the 16 Mi-value tensor
 * cap, so the image count is what refuses it, and 64 photos classify in a moment.
 */

const LIMIT = 64;
const CROP = 32;

let pipeline: HandlerPipeline;
let app: Express;
let photos: Buffer[];

/** `count` real photos: the fixture tree and data/, round and round. */
async function realPhotos(count: number): Promise<Buffer[]> {
  const files = [...(await readdir(DATA_DIR)).filter((f) => f.endsWith('.jpg')).map((f) => path.join(DATA_DIR, f))];
  for (const label of await readdir(FIXTURE_TREE)) {
    for (const f of await readdir(path.join(FIXTURE_TREE, label))) files.push(path.join(FIXTURE_TREE, label, f));
  }
  const bytes = await Promise.all(files.map((f) => readFile(f)));
  return Array.from({ length: count }, (_, i) => bytes[i % bytes.length]!);
}

/** A float32 NPY of `images` images in the model's layout, each a different flat grey. */
function tensorOf(images: number): Buffer {
  const perImage = 3 * CROP * CROP;
  const data = new Float32Array(images * perImage);
  for (let i = 0; i < images; i++) data.fill((i % 7) / 3 - 1, i * perImage, (i + 1) * perImage);
  return npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${images}, 3, ${CROP}, ${CROP}), }`, Buffer.from(data.buffer));
}

function assertRefused(res: request.Response, code: string): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code, JSON.stringify(res.body));
}

before(async () => {
  pipeline = await loadShippedPipeline(
    {},
    await tinyModelDir({ softmax: true, preprocessing: { resize_shorter_side: CROP, crop_size: CROP } }),
  );
  const state = new ModelState();
  state.ready(pipeline);
  app = createApp({ config: testConfig(), state, logger: silentLogger });
  photos = await realPhotos(LIMIT + 1);
});
after(() => pipeline.close());

const postJson = (body: unknown) => request(app).post('/invocations').type('application/json').send(JSON.stringify(body));

describe('images in a JSON body', () => {
  test('64 real photos are each classified, in order', async () => {
    const list = photos.slice(0, LIMIT).map((p) => p.toString('base64'));
    const res = await postJson(list);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.predictions.length, LIMIT);
    for (const p of res.body.predictions) assert.ok(TINY_LABELS.includes(p.class));
    // The same photo at positions 0 and 15 (15 files round and round) gets the same answer.
    assert.deepEqual(res.body.predictions[15], res.body.predictions[0]);
  });

  test('65 real photos are refused with too_many_images, as a list, images or instances', async () => {
    const list = photos.map((p) => p.toString('base64'));
    assert.equal(list.length, LIMIT + 1);
    assertRefused(await postJson(list), 'too_many_images');
    assertRefused(await postJson({ images: list }), 'too_many_images');
    assertRefused(await postJson({ instances: list.map((b64) => ({ b64 })) }), 'too_many_images');
  });
});

describe('images in a tensor body', () => {
  test('a [64, 3, 32, 32] tensor is classified, one answer per image', async () => {
    const res = await request(app).post('/invocations').type('application/x-npy').send(tensorOf(LIMIT));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.predictions.length, LIMIT);
    assert.deepEqual(res.body.predictions[7], res.body.predictions[0], 'images 0 and 7 are the same grey');
    assert.notDeepEqual(res.body.predictions[1], res.body.predictions[0]);
  });

  test('a [65, 3, 32, 32] tensor is refused with too_many_images', async () => {
    assertRefused(
      await request(app)
        .post('/invocations')
        .type('application/x-npy')
        .send(tensorOf(LIMIT + 1)),
      'too_many_images',
    );
  });
});

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import request from 'supertest';
import type { Express } from 'express';
import { ModelLoadFailedError, publicStartupFailure } from '../../image_classification/errors';
import type { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { loadShippedPipeline, sample, silentLogger, testConfig } from '../../harness/helpers';
import { npyWithHeader } from '../../harness/hostile/hostile-bodies';
import { TINY_INPUT, TINY_LABELS, tinyClassifierOnnx, tinyModelDir } from '../../harness/tiny-model';

/** The README's promises about tensor input names, model checks at load and NPY answers. */

const CROP = 8;
const PER_IMAGE = 3 * CROP * CROP;
const preprocessing = { resize_shorter_side: CROP, crop_size: CROP };

let pipeline: HandlerPipeline;
let app: Express;

before(async () => {
  pipeline = await loadShippedPipeline({}, await tinyModelDir({ softmax: true, preprocessing }));
  const state = new ModelState();
  state.ready(pipeline);
  app = createApp({ config: testConfig(), state, logger: silentLogger });
});
after(() => pipeline.close());

const image = (level: number) => Array.from({ length: 3 }, () => Array.from({ length: CROP }, () => Array(CROP).fill(level)));
const npy = (level: number) =>
  npyWithHeader(
    `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, ${CROP}, ${CROP}), }`,
    Buffer.from(new Float32Array(PER_IMAGE).fill(level).buffer),
  );

/** An NPY answer's shape and float32 values (NPY v1, little-endian float32, as documented). */
function readNpy(body: Buffer): { shape: number[]; values: number[] } {
  assert.equal(body.subarray(0, 6).toString('latin1'), '\x93NUMPY');
  assert.equal(body[6], 1, 'NPY v1.0');
  const headerEnd = 10 + body.readUInt16LE(8);
  const header = body.subarray(10, headerEnd).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .filter((d) => d.trim() !== '')
    .map(Number);
  const data = body.subarray(headerEnd);
  return { shape, values: Array.from(new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))) };
}

describe('tensor bodies name the model input', () => {
  test('JSON inputs: the one named after the model input is used; two others are wrong_input_name', async () => {
    const named = await request(app)
      .post('/invocations')
      .type('application/json')
      .send(JSON.stringify({ inputs: { other: [image(0)], [TINY_INPUT]: [image(1)] } }));
    assert.equal(named.status, 200, JSON.stringify(named.body));
    const alone = await request(app)
      .post('/invocations')
      .type('application/json')
      .send(JSON.stringify({ inputs: { whatever: [image(1)] } }));
    assert.deepEqual(alone.body, named.body, 'a single tensor is used whatever its name');
    const wrong = await request(app)
      .post('/invocations')
      .type('application/json')
      .send(JSON.stringify({ inputs: { a: [image(0)], b: [image(1)] } }));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'wrong_input_name');
  });

  test('NPZ: two members, neither named after the input, are wrong_input_name; one named so is used', async () => {
    const post = (members: Record<string, Buffer>) =>
      request(app)
        .post('/invocations')
        .type('application/x-npz')
        .send(Buffer.from(zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [`${k}.npy`, new Uint8Array(v)])))));
    const wrong = await post({ a: npy(0), b: npy(1) });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'wrong_input_name');
    const right = await post({ a: npy(0), [TINY_INPUT]: npy(1) });
    assert.equal(right.status, 200, JSON.stringify(right.body));
  });
});

/** POST /invocations with Accept: application/x-npy, the answer's bytes as the body. */
const postForNpy = (type: string, body: Buffer | string) =>
  request(app)
    .post('/invocations')
    .type(type)
    .set('Accept', 'application/x-npy')
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    })
    .send(body);

describe('Accept: application/x-npy', () => {
  test('one image answers [classes]; a list of two answers [2, classes]; the values are the JSON probabilities', async () => {
    const photo = await sample('glass.jpg');
    const json = await request(app).post('/invocations').type('image/jpeg').send(photo);
    const one = await postForNpy('image/jpeg', photo);
    assert.equal(one.status, 200);
    assert.match(one.headers['content-type']!, /application\/x-npy/);
    const single = readNpy(one.body as Buffer);
    assert.deepEqual(single.shape, [TINY_LABELS.length]);
    const expected = TINY_LABELS.map((label) => json.body.predictions.probabilities[label] as number);
    single.values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${TINY_LABELS[i]}: ${v} vs ${expected[i]}`));

    const two = await postForNpy('application/json', JSON.stringify([photo.toString('base64'), photo.toString('base64')]));
    assert.equal(two.status, 200);
    assert.deepEqual(readNpy(two.body as Buffer).shape, [2, TINY_LABELS.length]);
  });
});

describe('a model is checked at load', () => {
  const failure = async (change: (dir: string) => Promise<void>) => {
    const dir = await tinyModelDir({ softmax: true });
    await change(dir);
    const loaded = await loadShippedPipeline({}, dir).then(
      async (p) => {
        await p.close();
        return undefined;
      },
      (error: unknown) => publicStartupFailure(error, 'model_load_failed'),
    );
    assert.ok(loaded, 'the model must not load');
    return loaded;
  };

  test('model_mismatch: labels.json names fewer classes than the model outputs', async () => {
    const result = await failure((dir) => writeFile(path.join(dir, 'labels.json'), '["cat", "dog"]'));
    assert.equal(result.code, 'model_mismatch');
    assert.match(result.reason, /3 scores/);
  });

  test('model_mismatch: preprocessing.json names an input or an output the graph lacks', async () => {
    for (const key of ['input_name', 'output_name']) {
      const result = await failure((dir) => writeFile(path.join(dir, 'preprocessing.json'), JSON.stringify({ [key]: 'absent' })));
      assert.equal(result.code, 'model_mismatch', key);
    }
  });

  test("model_mismatch: preprocessing.json's input shape does not fit the graph (a 400 on a multi-model load)", async () => {
    const settings = JSON.stringify({ layout: 'NHWC', crop_size: 8, resize_shorter_side: 8 });
    const result = await failure((dir) => writeFile(path.join(dir, 'preprocessing.json'), settings));
    assert.equal(result.code, 'model_mismatch');
    assert.match(result.reason, /does not run on preprocessing\.json's \[1, 8, 8, 3\] input/);
    assert.equal(new ModelLoadFailedError(result).status, 400);
  });

  test('model_mismatch: a model whose scores are NaN', async () => {
    const nan = tinyClassifierOnnx({ softmax: true, bias: [0, Number.NaN, 0] });
    const result = await failure((dir) => writeFile(path.join(dir, 'model.onnx'), nan));
    assert.equal(result.code, 'model_mismatch');
    assert.match(result.reason, /NaN/);
  });

  test('model_invalid: a graph ONNX Runtime cannot read (a 400 on a multi-model load, not a server error)', async () => {
    const result = await failure((dir) => writeFile(path.join(dir, 'model.onnx'), 'not a protobuf'));
    assert.equal(result.code, 'model_invalid');
    assert.match(result.reason, /^ONNX Runtime cannot load model\.onnx: /);
    assert.doesNotMatch(result.reason, /\/tmp\//, 'no absolute path');
    assert.equal(new ModelLoadFailedError(result).status, 400);
  });

  test('model_invalid: preprocessing.json with a key it does not know (a typo is refused, not ignored)', async () => {
    const result = await failure((dir) => writeFile(path.join(dir, 'preprocessing.json'), '{"crop_sise": 8}'));
    assert.equal(result.code, 'model_invalid');
    assert.match(result.reason, /crop_sise/);
  });
});

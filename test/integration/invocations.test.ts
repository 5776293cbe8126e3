import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import type { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { loadShippedPipeline, sample, silentLogger, testConfig } from '../../harness/helpers';

let pipeline: HandlerPipeline;
let app: Express;
let labels: readonly string[];
let jpeg: Buffer;

function appWith(env: Record<string, string>, model: HandlerPipeline | undefined = pipeline): Express {
  const state = new ModelState();
  if (model) state.ready(model);
  return createApp({ config: testConfig(env), state, logger: silentLogger });
}

/** Every successful answer has the documented shape, whatever the model's classes are. */
function assertPrediction(prediction: unknown): void {
  const p = prediction as { class: string; probability: number; probabilities: Record<string, number> };
  assert.ok(labels.includes(p.class), `class ${p.class} is one of the labels`);
  assert.deepEqual(Object.keys(p.probabilities), [...labels]);
  assert.ok(Math.abs(Object.values(p.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-4);
  assert.equal(p.probability, Math.max(...Object.values(p.probabilities)));
}

function assertError(res: request.Response, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type']!, /application\/json/);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  assert.doesNotMatch(JSON.stringify(res.body), /\bat \S+ \(\S+:\d+:\d+\)|node_modules|\.[jt]s:\d+/, 'no stack trace');
}

before(async () => {
  pipeline = await loadShippedPipeline();
  labels = pipeline.summary.model!.labels;
  app = appWith({});
  jpeg = await sample('paper.jpg');
});
after(() => pipeline.close());

describe('POST /invocations accepts every documented content type', () => {
  for (const type of ['application/x-image', 'image/jpeg', 'application/octet-stream', 'image/jpeg; charset=utf-8', 'IMAGE/JPEG']) {
    test(type, async () => {
      const res = await request(app).post('/invocations').set('Content-Type', type).send(jpeg);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertPrediction(res.body.predictions);
    });
  }

  test('image/png and image/webp, same photo → same class as the JPEG', async () => {
    const fromJpeg = (await request(app).post('/invocations').type('image/jpeg').send(jpeg)).body.predictions;
    for (const [type, body] of [
      ['image/png', await sharp(jpeg).png().toBuffer()],
      ['image/webp', await sharp(jpeg).webp({ lossless: true }).toBuffer()],
    ] as const) {
      const res = await request(app).post('/invocations').type(type).send(body);
      assert.equal(res.status, 200);
      assertPrediction(res.body.predictions);
      assert.equal(res.body.predictions.class, fromJpeg.class, type);
    }
  });

  test('multipart/form-data with one file', async () => {
    const res = await request(app).post('/invocations').attach('image', jpeg, 'paper.jpg');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertPrediction(res.body.predictions);
  });

  test('application/json with one base64 image and with a list', async () => {
    const b64 = jpeg.toString('base64');
    const one = await request(app)
      .post('/invocations')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ image: b64 }));
    assert.equal(one.status, 200);
    assertPrediction(one.body.predictions);
    const glass = (await sample('glass.jpg')).toString('base64');
    const list = await request(app)
      .post('/invocations')
      .type('application/json')
      .send(JSON.stringify([b64, glass]));
    assert.equal(list.status, 200);
    assert.equal(list.body.predictions.length, 2);
    list.body.predictions.forEach(assertPrediction);
    assert.deepEqual(list.body.predictions[0], one.body.predictions, 'batching does not change the answer');
  });

  test('Accept: text/csv answers CSV; */* and none answer JSON', async () => {
    const csv = await request(app).post('/invocations').type('image/jpeg').set('Accept', 'text/csv').send(jpeg);
    assert.equal(csv.status, 200);
    assert.match(csv.headers['content-type']!, /text\/csv/);
    assert.equal(csv.text.split('\n')[0], ['class', 'probability', ...labels].join(','));
    const any = await request(app).post('/invocations').type('image/jpeg').set('Accept', '*/*').send(jpeg);
    assert.match(any.headers['content-type']!, /application\/json/);
  });
});

/** Node 22.15+ has zstd; the installed @types/node predates it. */
const { zstdCompressSync } = zlib as unknown as { zstdCompressSync: (data: Buffer) => Buffer };

describe('errors are JSON with the right status', () => {
  test('400 for empty, random, truncated bodies and bad JSON', async () => {
    assertError(await request(app).post('/invocations').type('image/jpeg').send(Buffer.alloc(0)), 400, 'empty_body');
    assertError(await request(app).post('/invocations').type('image/jpeg').send(Buffer.from('not an image at all')), 400, 'invalid_image');
    assertError(await request(app).post('/invocations').type('image/jpeg').send(jpeg.subarray(0, 5000)), 400, 'invalid_image');
    assertError(await request(app).post('/invocations').type('application/json').send('{"image": '), 400, 'invalid_json');
    assertError(await request(app).post('/invocations').type('application/json').send('{"image": "%%%"}'), 400, 'invalid_base64');
    assertError(await request(app).post('/invocations').attach('a', jpeg, 'a.jpg').attach('b', jpeg, 'b.jpg'), 400, 'invalid_multipart');
    assertError(await request(app).post('/invocations').field('note', 'no file'), 400, 'invalid_multipart');
  });

  test('400 for an image with too many pixels, refused before decoding', async () => {
    // Above the 384×384 warm-up image, below the 512×384 photo.
    const small = await loadShippedPipeline({ MAX_IMAGE_PIXELS: '150000' });
    try {
      const res = await request(appWith({}, small)).post('/invocations').type('image/jpeg').send(jpeg);
      assertError(res, 400, 'image_too_large');
    } finally {
      await small.close();
    }
  });

  test('413 over SAGEMAKER_MAX_PAYLOAD_IN_MB, raw and multipart', async () => {
    const tiny = appWith({ SAGEMAKER_MAX_PAYLOAD_IN_MB: '0.01' });
    assertError(await request(tiny).post('/invocations').type('image/jpeg').send(jpeg), 413, 'payload_too_large');
    assertError(await request(tiny).post('/invocations').attach('image', jpeg, 'p.jpg'), 413, 'payload_too_large');
  });

  test('415 unsupported Content-Type, 406 unacceptable Accept', async () => {
    assertError(await request(app).post('/invocations').type('text/plain').send('hello'), 415, 'unsupported_media_type');
    const noType = await request(app).post('/invocations').send(jpeg).unset('Content-Type');
    assertError(noType, 415, 'unsupported_media_type');
    assertError(await request(app).post('/invocations').type('image/jpeg').set('Accept', 'image/png').send(jpeg), 406, 'not_acceptable');
  });

  test('504 when inference exceeds the timeout', async () => {
    const res = await request(appWith({ SAGEMAKER_MODEL_SERVER_TIMEOUT: '0.001' }))
      .post('/invocations')
      .type('image/jpeg')
      .send(jpeg);
    assertError(res, 504, 'timeout');
  });

  test('503 overloaded with Retry-After past MODEL_SERVER_MAX_QUEUE, and recovery', async () => {
    const limited = appWith({ MODEL_SERVER_MAX_QUEUE: '1' });
    const answers = await Promise.all(Array.from({ length: 6 }, () => request(limited).post('/invocations').type('image/jpeg').send(jpeg)));
    const refused = answers.filter((r) => r.status === 503);
    assert.ok(
      answers.some((r) => r.status === 200),
      'one request is served',
    );
    assert.ok(refused.length > 0, 'the excess is refused');
    for (const r of refused) {
      assertError(r, 503, 'overloaded');
      assert.equal(r.headers['retry-after'], '1');
    }
    assert.equal((await request(limited).post('/invocations').type('image/jpeg').send(jpeg)).status, 200, 'the slot is released');
  });

  test('404 unknown path, 405 wrong method', async () => {
    assertError(await request(app).get('/etc/passwd'), 404, 'not_found');
    const wrong = await request(app).get('/invocations');
    assertError(wrong, 405, 'method_not_allowed');
    assert.equal(wrong.headers.allow, 'POST');
  });

  test('Content-Encoding: gzip, br and zstd bodies are inflated; compress, or any on a multipart body, is a 415', async () => {
    const encoded = { gzip: zlib.gzipSync(jpeg), br: zlib.brotliCompressSync(jpeg), zstd: zstdCompressSync(jpeg) };
    for (const [encoding, body] of Object.entries(encoded)) {
      const res = await request(app).post('/invocations').type('image/jpeg').set('Content-Encoding', encoding).send(body);
      assert.equal(res.status, 200, encoding);
      assertPrediction(res.body.predictions);
    }
    const compress = await request(app).post('/invocations').type('image/jpeg').set('Content-Encoding', 'compress').send(jpeg);
    assertError(compress, 415, 'unsupported_content_encoding');
    assert.equal(compress.body.error.message, 'Content-Encoding must be identity, gzip, deflate, br or zstd');
    const lying = await request(app).post('/invocations').type('image/jpeg').set('Content-Encoding', 'zstd').send(jpeg);
    assertError(lying, 400, 'bad_request');
    // A multipart body is not inflated: refused as such, not read as a form without a file.
    const boundary = 'XBOUNDARYX';
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      jpeg,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const gzippedForm = await request(app)
      .post('/invocations')
      .type(`multipart/form-data; boundary=${boundary}`)
      .set('Content-Encoding', 'gzip')
      .send(zlib.gzipSync(form));
    assertError(gzippedForm, 415, 'unsupported_content_encoding');
    assert.match(gzippedForm.body.error.message, /multipart body must be sent without Content-Encoding/);
    const plainForm = await request(app).post('/invocations').type(`multipart/form-data; boundary=${boundary}`).send(form);
    assert.equal(plainForm.status, 200);
  });

  test('the app keeps serving after every bad request', async () => {
    const res = await request(app).post('/invocations').type('image/jpeg').send(jpeg);
    assert.equal(res.status, 200);
  });
});

describe('headers', () => {
  test('helmet headers are set and request ids are echoed or generated', async () => {
    const echoed = await request(app).get('/ping').set('X-Amzn-RequestId', 'req-123');
    assert.equal(echoed.headers['x-amzn-requestid'], 'req-123');
    assert.equal(echoed.headers['x-content-type-options'], 'nosniff');
    assert.equal(echoed.headers['x-powered-by'], undefined);
    const generated = await request(app).get('/ping');
    assert.match(generated.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import type { Express } from 'express';
import type { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { loadShippedPipeline, sample, silentLogger, testConfig } from '../../harness/helpers';
import { tinyModelDir } from '../../harness/tiny-model';

/**
 * What the worker echoes and how `/endpoints/{name}/invocations` (the local InvokeEndpoint)
 * answers, read at the HTTP level: the AWS SDK would recognise a ModelError by its header
 * whatever the status.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENDPOINT = '/endpoints/my-endpoint/invocations';

let pipeline: HandlerPipeline;
let app: Express;
let jpeg: Buffer;
let small: Buffer;

before(async () => {
  pipeline = await loadShippedPipeline({}, await tinyModelDir({ softmax: true }));
  const state = new ModelState();
  state.ready(pipeline);
  app = createApp({ config: testConfig(), state, logger: silentLogger });
  jpeg = await sample('paper.jpg');
  small = await sample('glass.jpg');
});
after(() => pipeline.close());

describe('request ids: visible ASCII up to 200 characters are echoed, anything else is replaced', () => {
  const visible = Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x21 + (i % 94))).join('');

  for (const header of ['X-Amzn-RequestId', 'X-Request-Id']) {
    test(`${header}: 200 visible characters are echoed`, async () => {
      const res = await request(app).get('/ping').set(header, visible);
      assert.equal(res.headers[header.toLowerCase()], visible);
    });

    for (const [what, id] of [
      ['201 characters', `${visible}x`],
      ['a space', 'req 1'],
      ['a non-ASCII character', 'req-\u00e9'],
    ] as const) {
      test(`${header}: ${what} is replaced by a fresh id`, async () => {
        const res = await request(app).get('/ping').set(header, id);
        assert.equal(res.status, 200);
        assert.notEqual(res.headers['x-amzn-requestid'], id);
        assert.match(res.headers['x-request-id']!, UUID);
      });
    }
  }

  test('no id: a fresh one on every answer, errors included', async () => {
    const first = await request(app).get('/ping');
    const refused = await request(app).post('/invocations').type('text/plain').send('x');
    assert.match(first.headers['x-request-id']!, UUID);
    assert.match(refused.headers['x-request-id']!, UUID);
    assert.notEqual(first.headers['x-request-id'], refused.headers['x-request-id']);
  });
});

describe('/endpoints/{name}/invocations', () => {
  const invoke = (headers: Record<string, string> = {}, body: Buffer | string = jpeg, type = 'image/jpeg') =>
    request(app).post(ENDPOINT).set(headers).type(type).send(body);

  test('answers like /invocations, with the production variant and the inference id', async () => {
    const direct = await request(app).post('/invocations').type('image/jpeg').send(jpeg);
    const res = await invoke({ 'X-Amzn-SageMaker-Target-Variant': 'variant-2', 'X-Amzn-SageMaker-Inference-Id': 'inf-42' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, direct.body);
    assert.equal(res.headers['x-amzn-invoked-production-variant'], 'variant-2');
    assert.equal(res.headers['x-amzn-sagemaker-inference-id'], 'inf-42');
  });

  test('without a variant, or with one SageMaker would not accept, the variant is AllTraffic; a bad inference id is not echoed', async () => {
    const none = await invoke();
    assert.equal(none.headers['x-amzn-invoked-production-variant'], 'AllTraffic');
    assert.equal(none.headers['x-amzn-sagemaker-inference-id'], undefined);
    const bad = await invoke({ 'X-Amzn-SageMaker-Target-Variant': 'not a variant!', 'X-Amzn-SageMaker-Inference-Id': 'x'.repeat(65) });
    assert.equal(bad.status, 200);
    assert.equal(bad.headers['x-amzn-invoked-production-variant'], 'AllTraffic');
    assert.equal(bad.headers['x-amzn-sagemaker-inference-id'], undefined);
    const longest = 'i'.repeat(64);
    assert.equal((await invoke({ 'X-Amzn-SageMaker-Inference-Id': longest })).headers['x-amzn-sagemaker-inference-id'], longest);
  });

  for (const [what, send, status, code] of [
    ['an unsupported Content-Type', () => invoke({}, 'x', 'text/plain'), 415, 'unsupported_media_type'],
    ['a body that is no image', () => invoke({}, Buffer.from('not an image'), 'image/jpeg'), 400, 'invalid_image'],
    ['an unacceptable Accept', () => invoke({ Accept: 'image/png' }), 406, 'not_acceptable'],
    [
      'too many images',
      () => invoke({}, JSON.stringify(Array(65).fill(small.toString('base64'))), 'application/json'),
      400,
      'too_many_images',
    ],
  ] as const) {
    test(`${what}: 424 ModelError carrying the container's ${status}`, async () => {
      const res = await send();
      assert.equal(res.status, 424, JSON.stringify(res.body));
      assert.equal(res.headers['x-amzn-errortype'], 'ModelError');
      assert.equal(res.body.OriginalStatusCode, status);
      assert.equal(JSON.parse(res.body.OriginalMessage).error.code, code);
      assert.match(res.body.message, new RegExp(`\\(${status}\\)`));
    });
  }
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { zipSync } from 'fflate';
import request from 'supertest';
import { ndarray } from '../../image_classification/codecs/ndarray';
import { decodeNpy, encodeNpy } from '../../image_classification/codecs/npy';
import { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { pipelineOptions } from '../../image_classification/settings';
import { createApp } from '../../image_classification/http/app';
import { ModelState } from '../../image_classification/http/model-state';
import { imagesToTensor } from '../../image_classification/preprocess/batch';
import { modelDirWithHandler, ROOT, sample, shippedBundle, silentLogger, testConfig } from '../../harness/helpers';

/** supertest parser that keeps a binary body as a Buffer. */
function binary(res: request.Response, done: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  const stream = res as unknown as NodeJS.ReadableStream;
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

/** The package's public entry, as a handler module requires it (serve puts its name on NODE_PATH). */
const PUBLIC_API = JSON.stringify(path.resolve(__dirname, '../../image_classification/index.js'));
const pipelines: HandlerPipeline[] = [];
after(() => Promise.all(pipelines.map((pipeline) => pipeline.close())));

async function load(source: string, file?: string, env: Record<string, string> = {}) {
  const pipeline = await HandlerPipeline.load(
    await modelDirWithHandler(source, file),
    pipelineOptions(testConfig({ INFERENCE_DEVICE: 'cpu', ...env })),
    silentLogger,
  );
  pipelines.push(pipeline);
  return pipeline;
}

async function serve(source: string, file?: string, env: Record<string, string> = {}) {
  const state = new ModelState();
  state.ready(await load(source, file, env));
  return request(createApp({ config: testConfig(env), state, logger: silentLogger }));
}

test('outputFn alone: built-in model, decoder and classifier, the handler writes the answer', async () => {
  const server = await serve(`exports.outputFn = (prediction, accept) =>
    ({ body: JSON.stringify({ label: prediction.rows[0].class, accept }), contentType: 'application/vnd.label+json' });`);
  const res = await server
    .post('/invocations')
    .type('image/jpeg')
    .set('Accept', 'application/vnd.label+json')
    .send(await sample('paper.jpg'));
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type']!, /^application\/vnd\.label\+json/);
  assert.deepEqual(JSON.parse(res.text), { label: 'paper', accept: 'application/vnd.label+json' });
});

test('inputFn alone: a custom body format feeds the built-in classifier', async () => {
  const server = await serve(`exports.inputFn = (body, contentType) => {
    if (contentType !== 'text/plain') throw new Error('unexpected');
    return Buffer.from(body.toString('utf8'), 'base64');
  };`);
  const res = await server
    .post('/invocations')
    .type('text/plain')
    .send((await sample('glass.jpg')).toString('base64'));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.predictions.class, 'glass');
});

test('predictFn alone gets the built-in input and model; its answer goes through the built-in encoders', async () => {
  const server = await serve(`exports.predictFn = async (input, model) => {
    const [top] = await model.predict(input.images);
    return [[top.probability]];
  };`);
  const csv = await server
    .post('/invocations')
    .type('image/jpeg')
    .set('Accept', 'text/csv')
    .send(await sample('plastic.jpg'));
  assert.equal(csv.status, 200);
  assert.match(csv.text, /^0\.\d+\n$/);
  const json = await server
    .post('/invocations')
    .type('image/jpeg')
    .send(await sample('plastic.jpg'));
  assert.ok(json.body[0][0] > 0.5);
});

test('snake_case hooks in a .cjs module, with a model of its own and warm-up', async () => {
  const server = await serve(
    `let warmed = 0;
     module.exports = {
       model_fn: (dir) => ({ dir }),
       warmup_fn: (model) => { warmed++; model.warm = true; },
       input_fn: (body) => body.length,
       predict_fn: (length, model) => ({ length, warm: model.warm, warmed }),
       output_fn: (prediction) => JSON.stringify(prediction),
     };`,
    'inference.cjs',
  );
  const res = await server.post('/invocations').type('application/weird').send('12345');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type']!, /^application\/json/, 'a bare body answers as the default accept');
  assert.deepEqual(JSON.parse(res.text), { length: 5, warm: true, warmed: 1 });
});

test('an ES module with a default-exported transformFn sees the whole request context', async () => {
  const server = await serve(
    `export default {
       transformFn: (model, body, contentType, accept, ctx) => {
         ctx.setResponseHeader('X-Amzn-SageMaker-Custom-Attributes', ctx.customAttributes ?? 'none');
         const { requestId, headers, customAttributes, modelDir } = ctx;
         return { body: JSON.stringify({ requestId, custom: headers['x-custom'], customAttributes, modelDir, contentType, accept, bytes: body.length }), contentType: 'application/json' };
       },
     };`,
    'inference.mjs',
  );
  const res = await server
    .post('/invocations')
    .type('Application/Octet-Stream; charset=binary')
    .set('X-Amzn-RequestId', 'req-42')
    .set('X-Custom', 'yes')
    .set('X-Amzn-SageMaker-Custom-Attributes', 'trace=abc,x=1')
    .send(Buffer.from('xyz'));
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-amzn-sagemaker-custom-attributes'], 'trace=abc,x=1');
  assert.equal(res.body.requestId, 'req-42');
  assert.equal(res.body.custom, 'yes');
  assert.equal(res.body.customAttributes, 'trace=abc,x=1');
  assert.equal(res.body.contentType, 'application/octet-stream');
  assert.equal(res.body.accept, 'application/json', 'no Accept: the default accept');
  assert.equal(res.body.bytes, 3);
  assert.match(res.body.modelDir, /handler-model-/);
});

test('each request has its own context, also when requests run concurrently', async () => {
  const server = await serve(`exports.transformFn = async (model, body, contentType, accept, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return ctx.requestId + ':' + ctx.customAttributes;
  };`);
  const ids = Array.from({ length: 8 }, (_, i) => `r${i}`);
  const answers = await Promise.all(
    ids.map((id) =>
      server
        .post('/invocations')
        .set('X-Amzn-RequestId', id)
        .set('X-Amzn-SageMaker-Custom-Attributes', id)
        .set('Accept', 'text/plain')
        .send('x'),
    ),
  );
  assert.deepEqual(
    answers.map((res) => res.text),
    ids.map((id) => `${id}:${id}`),
  );
  assert.match(answers[0]!.headers['content-type']!, /^text\/plain/);
});

test('HandlerError passes its status and message through; any other error is a bare 500', async () => {
  const server = await serve(`const { HandlerError } = require(${PUBLIC_API});
    exports.predictFn = (input) => {
      if (input.images[0].length < 10) throw new HandlerError(422, 'too small to be a photo', 'too_small');
      throw new Error('secret internal detail');
    };`);
  const typed = await server.post('/invocations').type('image/jpeg').send(Buffer.from('tiny'));
  assert.equal(typed.status, 422);
  assert.deepEqual(typed.body, { error: { code: 'too_small', message: 'too small to be a photo' } });
  const untyped = await server
    .post('/invocations')
    .type('image/jpeg')
    .send(await sample('glass.jpg'));
  assert.equal(untyped.status, 500);
  assert.deepEqual(untyped.body, { error: { code: 'internal_error', message: 'internal server error' } });
  assert.doesNotMatch(untyped.text, /secret/);
});

test('built-in hooks keep 415 for an unknown Content-Type and 406 for an unacceptable Accept', async () => {
  const server = await serve('exports.warmupFn = () => {};');
  const unsupported = await server.post('/invocations').type('application/pdf').send(Buffer.from('%PDF'));
  assert.equal(unsupported.status, 415);
  assert.equal(unsupported.body.error.code, 'unsupported_media_type');
  const unacceptable = await server
    .post('/invocations')
    .type('image/jpeg')
    .set('Accept', 'image/png')
    .send(await sample('glass.jpg'));
  assert.equal(unacceptable.status, 406);
});

test('start-up refuses handlers that cannot work, with a message that says why', async () => {
  const refusals: [string, string | undefined, Record<string, string>, RegExp][] = [
    ['exports.transformFn = () => ""; exports.inputFn = () => 1;', undefined, {}, /transformFn replaces them/],
    ['exports.modelFn = () => ({});', undefined, {}, /modelFn but no predictFn/],
    ['exports.inputFn = () => 1; exports.input_fn = () => 2;', undefined, {}, /both inputFn and input_fn/],
    ['exports.predictFn = 42;', undefined, {}, /predictFn must be a function/],
    ['exports.somethingElse = () => 1;', undefined, {}, /exports none of/],
    ['this is not javascript', undefined, {}, /cannot load handler/],
    ['exports.outputFn = () => "";', undefined, { SAGEMAKER_PROGRAM: 'inference.py' }, /JavaScript modules/],
    ['exports.outputFn = () => "";', undefined, { SAGEMAKER_PROGRAM: 'missing.js' }, /does not exist/],
    [
      'exports.inputFn = () => Buffer.alloc(0);',
      undefined,
      { SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: 'image/png' },
      /cannot be written by the built-in outputFn/,
    ],
  ];
  for (const [source, file, env, message] of refusals) {
    await assert.rejects(load(source, file, env), message, source);
  }
});

test('a handler header over 4 kB is refused (it would not fit the buffer nginx has for headers, and the answer would be a 502)', async () => {
  const server = await serve(`exports.transformFn = (model, body, type, accept, ctx) => {
    ctx.setResponseHeader('X-Echo', 'e'.repeat(Number(body.toString())));
    return '"ok"';
  };`);
  assert.equal((await server.post('/invocations').type('text/plain').send('4000')).status, 200);
  const refused = await server.post('/invocations').type('text/plain').send('5000');
  assert.equal(refused.status, 500);
  assert.equal(refused.headers['x-echo'], undefined);
});

test('start-up failures carry a code: handler_invalid for the module, handler_failed for a hook that throws', async () => {
  const codeOf = (source: string) =>
    load(source).then(
      () => 'loaded',
      (error: { code?: string }) => error.code,
    );
  assert.equal(await codeOf('exports.predictFn = 42;'), 'handler_invalid');
  assert.equal(
    await codeOf('exports.modelFn = () => { throw new Error("no GPU here"); }; exports.transformFn = () => "";'),
    'handler_failed',
  );
  assert.equal(await codeOf('exports.warmupFn = async () => { throw new TypeError("cache"); };'), 'handler_failed');
});

test('SAGEMAKER_SUBMIT_DIRECTORY and SAGEMAKER_PROGRAM point at a handler outside the model dir', async () => {
  const codeDir = await mkdtemp(path.join(os.tmpdir(), 'submit-'));
  await writeFile(path.join(codeDir, 'entry.js'), 'exports.transformFn = () => "from submit dir";');
  const server = await serve('exports.transformFn = () => "from model dir";', undefined, {
    SAGEMAKER_SUBMIT_DIRECTORY: codeDir,
    SAGEMAKER_PROGRAM: 'entry.js',
  });
  const res = await server.post('/invocations').set('Accept', 'text/plain').send('x');
  assert.equal(res.text, 'from submit dir');
});

test('built-in handler: NPY/NPZ/JSON tensors classify like the image they came from; NPY answers on request', async () => {
  const bundle = await shippedBundle();
  const pipeline = await HandlerPipeline.load(
    bundle.dir,
    pipelineOptions(testConfig({ INFERENCE_DEVICE: 'cpu', SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: 'text/csv' })),
    silentLogger,
  );
  pipelines.push(pipeline);
  const state = new ModelState();
  state.ready(pipeline);
  const server = request(createApp({ config: testConfig(), state, logger: silentLogger }));
  const jpeg = await sample('paper.jpg');
  const tensor = await imagesToTensor([jpeg], bundle.spec);

  const fromImage = await server.post('/invocations').type('image/jpeg').set('Accept', 'application/json').send(jpeg);
  const fromNpy = await server.post('/invocations').type('application/x-npy').set('Accept', 'application/json').send(encodeNpy(tensor));
  assert.equal(fromNpy.status, 200, fromNpy.text);
  assert.equal(fromNpy.body.predictions[0].class, fromImage.body.predictions.class);
  assert.ok(Math.abs(fromNpy.body.predictions[0].probability - fromImage.body.predictions.probability) < 1e-5);

  const npz = Buffer.from(zipSync({ 'other.npy': encodeNpy(ndarray('float32', [1])), 'input.npy': encodeNpy(tensor) }));
  const fromNpz = await server
    .post('/invocations')
    .type('application/x-npz')
    .set('Accept', 'application/x-npy')
    .buffer(true)
    .parse(binary)
    .send(npz);
  assert.equal(fromNpz.status, 200, String(fromNpz.body));
  const probabilities = decodeNpy(fromNpz.body as Buffer);
  assert.deepEqual(probabilities.shape, [1, bundle.labels.length]);
  assert.ok(Math.abs((probabilities.data[bundle.labels.indexOf('paper')] as number) - fromImage.body.predictions.probability) < 1e-5);

  const defaultAccept = await server.post('/invocations').type('image/jpeg').send(jpeg);
  assert.match(defaultAccept.headers['content-type']!, /^text\/csv/, 'SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT');
  // Integer tensors (int64 arrives as BigInts) are converted, not a 500.
  const integers = ndarray(
    'int64',
    [1, ...tensor.shape.slice(1)],
    BigInt64Array.from(tensor.data as Float32Array, (value) => BigInt(Math.round(value))),
  );
  const fromInt64 = await server.post('/invocations').type('application/x-npy').set('Accept', 'application/json').send(encodeNpy(integers));
  assert.equal(fromInt64.status, 200, fromInt64.text);
  assert.equal(fromInt64.body.predictions[0].probabilities.paper > 0, true);
  const wrongShape = await server.post('/invocations').type('text/csv').send('1,2,3\n4,5,6\n');
  assert.equal(wrongShape.status, 400);
  assert.equal(wrongShape.body.error.code, 'wrong_shape');
  const pickle = await server
    .post('/invocations')
    .type('application/x-npy')
    .send(await readFile(path.join(ROOT, 'test/fixtures/npy/object.npy')));
  assert.equal(pickle.status, 400);
  assert.equal(pickle.body.error.code, 'npy_object_refused');
});

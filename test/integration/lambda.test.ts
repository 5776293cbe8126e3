import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type S3rver from 's3rver';
import { ModelState } from '../../image_classification/http/model-state';
import type { HandlerPipeline } from '../../image_classification/handler/pipeline';
import { invokeWithTestImage, type InvokerDeps, type InvokerFailure, type InvokerSuccess } from '../../lambda/src/invoker';
import { listenApp, loadShippedPipeline, S3RVER_CREDENTIALS, sample, startS3rver } from '../../harness/helpers';

const BUCKET = 'test-images';
/** The endpoint accepts any credentials, as the emulation should; s3rver wants its own. */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let s3rver: S3rver;
let s3: S3Client;
let pipeline: HandlerPipeline;
const servers: http.Server[] = [];

/** The real server (Express app + shipped model) on a loopback port; `state` decides readiness. */
async function startEndpoint(state: ModelState): Promise<SageMakerRuntimeClient> {
  const { server, url } = await listenApp(state);
  servers.push(server);
  return new SageMakerRuntimeClient({ endpoint: url, region: 'us-east-1', credentials });
}

let deps: InvokerDeps;

before(async () => {
  const started = await startS3rver(BUCKET);
  s3rver = started.s3rver;
  s3 = new S3Client({
    endpoint: started.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  for (const name of ['paper.jpg', 'glass.jpg'])
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `samples/${name}`, Body: await sample(name) }));
  pipeline = await loadShippedPipeline();
  const state = new ModelState();
  state.ready(pipeline);
  deps = { s3, runtime: await startEndpoint(state), bucket: BUCKET, endpointName: 'trash-classifier' };
});

after(async () => {
  for (const server of servers) server.close();
  await s3rver.close();
  await pipeline.close();
});

describe('the Lambda invoker against S3 (s3rver) and the real server', () => {
  test('{"key"} → class, probabilities and latency', async () => {
    const result = (await invokeWithTestImage({ key: 'samples/paper.jpg' }, deps)) as InvokerSuccess;
    assert.equal(result.class, 'paper', JSON.stringify(result));
    assert.deepEqual(Object.keys(result.probabilities), ['glass', 'paper', 'plastic']);
    assert.ok(result.probability > 0.5);
    assert.ok(Number.isInteger(result.latencyMs) && result.latencyMs >= 0);
    assert.equal(result.endpoint, 'trash-classifier');
  });

  test('the seed workshop event {"paper image": key} still works', async () => {
    const result = (await invokeWithTestImage({ 'paper image': 'samples/glass.jpg' }, deps)) as InvokerSuccess;
    assert.equal(result.class, 'glass');
  });

  test('bad events and missing configuration are clear errors', async () => {
    for (const event of [{}, null, 'samples/paper.jpg', { key: 42 }]) {
      assert.equal(((await invokeWithTestImage(event, deps)) as InvokerFailure).error.code, 'BadEvent');
    }
    const noEndpoint = (await invokeWithTestImage({ key: 'samples/paper.jpg' }, { ...deps, endpointName: undefined })) as InvokerFailure;
    assert.match(noEndpoint.error.message, /SAGEMAKER_ENDPOINT_NAME/);
  });

  test('a missing object is NoSuchKey', async () => {
    const result = (await invokeWithTestImage({ key: 'samples/nope.jpg' }, deps)) as InvokerFailure;
    assert.deepEqual(result.error, { code: 'NoSuchKey', message: `s3://${BUCKET}/samples/nope.jpg does not exist`, status: 404 });
  });

  test('the endpoint refusing the content type (415) is a ModelError with the status', async () => {
    const result = (await invokeWithTestImage({ key: 'samples/paper.jpg', contentType: 'text/plain' }, deps)) as InvokerFailure;
    assert.equal(result.error.code, 'ModelError');
    assert.equal(result.error.status, 415);
    assert.match(result.error.message, /unsupported_media_type/);
  });

  test('an endpoint whose model failed to load (5xx) is a ModelError with the status', async () => {
    const broken = new ModelState();
    broken.fail({ code: 'model_not_found', reason: 'model.onnx is missing' });
    const result = (await invokeWithTestImage(
      { key: 'samples/paper.jpg' },
      { ...deps, runtime: await startEndpoint(broken) },
    )) as InvokerFailure;
    assert.equal(result.error.code, 'ModelError');
    assert.equal(result.error.status, 503);
  });

  test('an unreachable endpoint is an error value, not a rejection', async () => {
    const nowhere = new SageMakerRuntimeClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials, maxAttempts: 1 });
    const result = (await invokeWithTestImage({ key: 'samples/paper.jpg' }, { ...deps, runtime: nowhere })) as InvokerFailure;
    assert.ok(result.error.code.length > 0);
    assert.match(result.error.message, /InvokeEndpoint trash-classifier failed/);
  });
});

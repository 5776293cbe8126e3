import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  SageMakerClient,
  type CreateEndpointConfigCommandInput,
  type CreateModelCommandInput,
} from '@aws-sdk/client-sagemaker';
import { readModelBundle, unpackArchive } from '../../image_classification/model/model-dir';
import { deployRequests, parseEnvironment } from '../../deploy/sagemaker-requests';
import { ROOT, SHIPPED_ARCHIVE } from '../../harness/helpers';

const run = promisify(execFile);
const IMAGE = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/image-classification:v1';
const ROLE = 'arn:aws:iam::111122223333:role/SageMakerExecution';
const MODEL_DATA = 's3://my-bucket/models/model.tar.gz';
// Without this the SDK prints a Node-version notice on stderr that has nothing to do with the test.
const quietEnv = { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1', NODE_NO_WARNINGS: '1' };

const expected = {
  createModel: {
    ModelName: 'trash-classifier-s1',
    ExecutionRoleArn: ROLE,
    PrimaryContainer: { Image: IMAGE, Mode: 'SingleModel', ModelDataUrl: MODEL_DATA, Environment: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' } },
    EnableNetworkIsolation: true,
  },
  createEndpointConfig: {
    EndpointConfigName: 'trash-classifier-config-s1',
    ProductionVariants: [
      {
        VariantName: 'AllTraffic',
        ModelName: 'trash-classifier-s1',
        InstanceType: 'ml.c5.xlarge',
        InitialInstanceCount: 2,
        InitialVariantWeight: 1,
      },
    ],
  },
  createEndpoint: { EndpointName: 'trash-classifier', EndpointConfigName: 'trash-classifier-config-s1' },
};

/**
 * What the SDK would send SageMaker for `command`: the X-Amz-Target and the JSON body. The
 * SDK's serializer keeps only members the API defines, so a misspelt field is missing here.
 */
async function onTheWire(send: (client: SageMakerClient) => Promise<unknown>): Promise<{ target: string; body: unknown }> {
  let sent: { headers: Record<string, string>; body: string | Uint8Array } | undefined;
  const client = new SageMakerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
    maxAttempts: 1,
    requestHandler: {
      handle: (request: { headers: Record<string, string>; body: string | Uint8Array }) => {
        sent = request;
        return Promise.reject(new Error('not sent'));
      },
    },
  });
  await assert.rejects(send(client), /not sent/);
  return {
    target: sent!.headers['x-amz-target']!,
    body: JSON.parse(typeof sent!.body === 'string' ? sent!.body : new TextDecoder().decode(sent!.body)),
  };
}

test('deployRequests builds the three SageMaker inputs, and the SDK sends each as the API defines it', async () => {
  const requests = deployRequests({
    name: 'trash-classifier',
    image: IMAGE,
    role: ROLE,
    modelData: MODEL_DATA,
    capacity: { kind: 'instances', instanceType: 'ml.c5.xlarge', instanceCount: 2 },
    environment: parseEnvironment(['SAGEMAKER_MODEL_SERVER_WORKERS=2']),
    suffix: 's1',
  });
  assert.deepEqual(requests, expected);
  assert.deepEqual(await onTheWire((c) => c.send(new CreateModelCommand(requests.createModel))), {
    target: 'SageMaker.CreateModel',
    body: expected.createModel,
  });
  assert.deepEqual(await onTheWire((c) => c.send(new CreateEndpointConfigCommand(requests.createEndpointConfig))), {
    target: 'SageMaker.CreateEndpointConfig',
    body: expected.createEndpointConfig,
  });
  assert.deepEqual(await onTheWire((c) => c.send(new CreateEndpointCommand(requests.createEndpoint))), {
    target: 'SageMaker.CreateEndpoint',
    body: expected.createEndpoint,
  });
  // The check has teeth: a member the API does not define never reaches the wire.
  const misspelt = { ...expected.createModel, ExecutionRoleARN: ROLE } as unknown as CreateModelCommandInput;
  assert.equal(
    ((await onTheWire((c) => c.send(new CreateModelCommand(misspelt)))).body as Record<string, unknown>).ExecutionRoleARN,
    undefined,
  );
  assert.throws(() => parseEnvironment(['NOEQUALS']), /KEY=VALUE/);
});

test('deployRequests --multi-model: Mode MultiModel over an S3 prefix, SAGEMAKER_MULTI_MODEL set', () => {
  const base = {
    name: 'mme',
    image: IMAGE,
    role: ROLE,
    capacity: { kind: 'instances', instanceType: 'ml.c5.xlarge', instanceCount: 1 } as const,
    environment: {},
    suffix: 's1',
  };
  const { createModel } = deployRequests({ ...base, multiModel: true, modelData: 's3://my-bucket/models/' });
  assert.deepEqual(createModel.PrimaryContainer, {
    Image: IMAGE,
    Mode: 'MultiModel',
    ModelDataUrl: 's3://my-bucket/models/',
    Environment: { SAGEMAKER_MULTI_MODEL: 'true' },
  });
  assert.doesNotThrow(() => new CreateModelCommand(createModel));
  for (const modelData of [undefined, MODEL_DATA, 's3://my-bucket', 'https://x/models/']) {
    assert.throws(() => deployRequests({ ...base, multiModel: true, ...(modelData ? { modelData } : {}) }), /S3 prefix/);
  }
});

test('npm run deploy -- --dry-run prints exactly those requests and --delete the teardown', async () => {
  const deploy = path.join(ROOT, 'dist/scripts/deploy.js');
  const { stdout } = await run(
    process.execPath,
    [
      deploy,
      '--dry-run',
      '--name',
      'trash-classifier',
      '--image',
      IMAGE,
      '--role',
      ROLE,
      '--model-data',
      MODEL_DATA,
      '--instance-type',
      'ml.c5.xlarge',
      '--count',
      '2',
      '--env',
      'SAGEMAKER_MODEL_SERVER_WORKERS=2',
      '--suffix',
      's1',
      '--region',
      'eu-west-1',
    ],
    { env: quietEnv },
  );
  const printed = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(printed, [
    { command: 'CreateModel', input: expected.createModel },
    { command: 'CreateEndpointConfig', input: expected.createEndpointConfig },
    { command: 'CreateEndpoint', input: expected.createEndpoint },
  ]);
  const teardown = await run(process.execPath, [deploy, '--dry-run', '--delete', '--name', 'trash-classifier', '--region', 'eu-west-1'], {
    env: quietEnv,
  });
  assert.deepEqual(
    teardown.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).command),
    ['DescribeEndpoint', 'DeleteEndpoint', 'DeleteEndpointConfig', 'DeleteModel'],
  );
});

test('npm run deploy -- --serverless-memory-mb: a serverless variant, no instances, no network isolation (serverless has none)', async () => {
  const { stdout } = await run(
    process.execPath,
    [
      path.join(ROOT, 'dist/scripts/deploy.js'),
      ...['--dry-run', '--name', 'sl', '--image', IMAGE, '--role', ROLE, '--suffix', 's1', '--region', 'eu-west-1'],
      ...['--serverless-memory-mb', '4096', '--serverless-max-concurrency', '8'],
    ],
    { env: quietEnv },
  );
  const [model, config] = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { input: unknown });
  assert.equal((model!.input as CreateModelCommandInput).EnableNetworkIsolation, false);
  assert.deepEqual((config!.input as CreateEndpointConfigCommandInput).ProductionVariants, [
    {
      VariantName: 'AllTraffic',
      ModelName: 'sl-s1',
      ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 8 },
      InitialVariantWeight: 1,
    },
  ]);
});

test('npm run package-model packs a model dir into a model.tar.gz the server reads', async () => {
  const dir = await unpackArchive(SHIPPED_ARCHIVE);
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'pkg-')), 'model.tar.gz');
  const { stdout } = await run(
    process.execPath,
    [path.join(ROOT, 'dist/scripts/package-model.js'), '--dir', dir, '--out', out, '--upload', 's3://bucket/x/model.tar.gz', '--dry-run'],
    { env: quietEnv },
  );
  assert.deepEqual(JSON.parse(stdout), { command: 'PutObject', input: { Bucket: 'bucket', Key: 'x/model.tar.gz', Body: out } });
  const repacked = await readModelBundle(await unpackArchive(out));
  assert.deepEqual(repacked.labels, (await readModelBundle(dir)).labels);
  await assert.rejects(
    run(process.execPath, [path.join(ROOT, 'dist/scripts/package-model.js'), '--dir', os.tmpdir(), '--out', out]),
    /model\.onnx is missing/,
  );
});

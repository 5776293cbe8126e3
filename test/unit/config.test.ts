import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../image_classification/config';
import { ConfigError } from '../../image_classification/errors';
import { archiveLimits } from '../../image_classification/settings';

test('defaults follow the SageMaker contract', () => {
  const config = loadConfig({}, 4);
  assert.equal(config.port, 8080);
  assert.equal(config.workers, 4, 'a worker per core');
  assert.equal(config.timeoutSeconds, 60);
  assert.equal(config.maxPayloadMb, 6);
  assert.equal(config.maxPayloadBytes, 6 * 1024 * 1024);
  assert.equal(config.inferenceDevice, 'auto');
  assert.equal(config.ortIntraOpThreads, 1, 'the cores shared out among the workers: one ORT thread each');
  assert.equal(config.ortAllowSpinning, true, 'workers x threads fit the cores');
  assert.equal(config.maxQueue, 32);
  assert.equal(config.maxBatchSize, undefined, 'chosen per execution provider');
  assert.equal(config.maxBatchDelayMs, 0);
  assert.equal(config.defaultAccept, 'application/json');
  assert.equal(config.modelDir, undefined);
  assert.equal(config.loadTimeoutSeconds, 300);
  assert.equal(config.maxModelBytes, 4096 * 1024 * 1024);
  assert.equal(config.maxConnectionsPerClient, 512);
  assert.equal(loadConfig({ SAGEMAKER_MODEL_SERVER_WORKERS: '2' }, 4).ortIntraOpThreads, 2, 'floor(4 cores / 2 workers)');
  const single = loadConfig({}, 1);
  assert.deepEqual([single.workers, single.ortIntraOpThreads, single.ortAllowSpinning], [1, 1, true]);
});

test('SAGEMAKER_ variables win over the plain MMS names, blanks count as unset', () => {
  const config = loadConfig(
    { SAGEMAKER_MODEL_SERVER_WORKERS: '3', MODEL_SERVER_WORKERS: '5', SAGEMAKER_MODEL_SERVER_TIMEOUT: ' ', MODEL_SERVER_TIMEOUT: '7' },
    8,
  );
  assert.equal(config.workers, 3);
  assert.equal(config.timeoutSeconds, 7);
  assert.equal(config.ortIntraOpThreads, 2, 'floor(8 cores / 3 workers)');
  assert.equal(config.ortAllowSpinning, true, '3 x 2 threads fit in 8 cores');
});

test('explicit settings are parsed and typed', () => {
  const config = loadConfig(
    {
      SAGEMAKER_BIND_TO_PORT: '9090',
      SAGEMAKER_MAX_PAYLOAD_IN_MB: '0.5',
      SM_MODEL_DIR: '/models/x',
      INFERENCE_DEVICE: 'GPU',
      ORT_INTRA_OP_THREADS: '3',
      MAX_IMAGE_PIXELS: '1000',
      LOG_LEVEL: 'debug',
      MODEL_SERVER_MAX_BATCH_SIZE: '16',
      MODEL_SERVER_MAX_BATCH_DELAY_MS: '2.5',
      ORT_ALLOW_SPINNING: 'true',
      SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: 'Text/CSV',
      SAGEMAKER_PROGRAM: 'handler.mjs',
    },
    2,
  );
  assert.deepEqual(
    [
      config.port,
      config.maxPayloadBytes,
      config.modelDir,
      config.inferenceDevice,
      config.ortIntraOpThreads,
      config.maxImagePixels,
      config.logLevel,
    ],
    [9090, 524288, '/models/x', 'gpu', 3, 1000, 'debug'],
  );
  assert.deepEqual(
    [config.maxBatchSize, config.maxBatchDelayMs, config.ortAllowSpinning, config.defaultAccept, config.program],
    [16, 2.5, true, 'text/csv', 'handler.mjs'],
  );
});

test('invalid values fail with every problem named by its variable', () => {
  assert.throws(
    () =>
      loadConfig(
        {
          SAGEMAKER_BIND_TO_PORT: 'eighty',
          INFERENCE_DEVICE: 'tpu',
          SAGEMAKER_MODEL_SERVER_WORKERS: '0',
          MODEL_SERVER_MAX_BATCH_SIZE: '0',
          SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: 'json',
        },
        2,
      ),
    (error: unknown) =>
      error instanceof ConfigError &&
      [
        'SAGEMAKER_BIND_TO_PORT:',
        'INFERENCE_DEVICE:',
        'SAGEMAKER_MODEL_SERVER_WORKERS:',
        'MODEL_SERVER_MAX_BATCH_SIZE:',
        'SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT:',
      ].every((name) => error.message.includes(name)),
  );
});

test('metrics: on by default, on the serving port; a port of their own must differ from it', () => {
  const defaults = loadConfig({}, 2);
  assert.deepEqual([defaults.metrics, defaults.metricsPort, defaults.serverTiming], [true, undefined, true]);
  const own = loadConfig({ MODEL_SERVER_METRICS_PORT: '9100', MODEL_SERVER_SERVER_TIMING: 'false', MODEL_SERVER_METRICS: '0' }, 2);
  assert.deepEqual([own.metrics, own.metricsPort, own.serverTiming], [false, 9100, false]);
  assert.throws(
    () => loadConfig({ SAGEMAKER_BIND_TO_PORT: '9100', MODEL_SERVER_METRICS_PORT: '9100' }, 2),
    /MODEL_SERVER_METRICS_PORT: must differ/,
  );
});

test('multi-model: off by default, the SageMaker models root, a budget only when set', () => {
  const defaults = loadConfig({}, 2);
  assert.deepEqual([defaults.multiModel, defaults.modelsRoot, defaults.modelsMemoryMb], [false, '/opt/ml/models', undefined]);
  const on = loadConfig(
    { SAGEMAKER_MULTI_MODEL: 'TRUE', MODEL_SERVER_MODELS_ROOT: '/srv/models', MODEL_SERVER_MODELS_MEMORY_MB: '1536' },
    2,
  );
  assert.deepEqual([on.multiModel, on.modelsRoot, on.modelsMemoryMb], [true, '/srv/models', 1536]);
  assert.throws(() => loadConfig({ SAGEMAKER_MULTI_MODEL: 'yes' }, 2), /SAGEMAKER_MULTI_MODEL:/);
  assert.throws(() => loadConfig({ MODEL_SERVER_MODELS_MEMORY_MB: '-1' }, 2), /MODEL_SERVER_MODELS_MEMORY_MB:/);
});

test("a model archive is unpacked within MODEL_SERVER_LOAD_TIMEOUT and MODEL_SERVER_MAX_MODEL_MB, serve's and the workers' alike", () => {
  assert.deepEqual(archiveLimits(loadConfig({})), { maxBytes: 4096 * 1024 * 1024, timeoutMs: 300_000 });
  assert.deepEqual(archiveLimits(loadConfig({ MODEL_SERVER_LOAD_TIMEOUT: '7', MODEL_SERVER_MAX_MODEL_MB: '10' })), {
    maxBytes: 10 * 1024 * 1024,
    timeoutMs: 7000,
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecutionProviderError } from '../../image_classification/errors';
import { cudaProviderInstalled, createSession } from '../../image_classification/runtime/session';
import { shippedBundle, silentLogger } from '../../harness/helpers';

test(
  'INFERENCE_DEVICE=auto falls back to the CPU without a CUDA provider',
  { skip: cudaProviderInstalled() && 'CUDA provider installed' },
  async () => {
    const { session, provider } = await createSession(
      (await shippedBundle()).onnxPath,
      { device: 'auto', intraOpThreads: 1 },
      silentLogger,
    );
    assert.equal(provider, 'cpu');
    await session.release();
  },
);

test(
  'INFERENCE_DEVICE=gpu fails loudly when no CUDA session can be created',
  { skip: cudaProviderInstalled() && 'CUDA provider installed' },
  async () => {
    await assert.rejects(
      createSession((await shippedBundle()).onnxPath, { device: 'gpu', intraOpThreads: 1 }, silentLogger),
      (error: unknown) => error instanceof ExecutionProviderError && /INFERENCE_DEVICE=gpu/.test(error.message),
    );
  },
);

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { modelDirWithHandler, ROOT } from '../../harness/helpers';
import { invoke, startServe } from '../../harness/serve-process';

/**
 * ONNX Runtime's official Linux builds collect telemetry for Microsoft unless told not to. The
 * package loads it with ORT_DISABLE_TELEMETRY=1 (runtime/onnxruntime.ts): a prediction leaves
 * nothing in HOME or TMPDIR. With telemetry allowed, the same run leaves ONNX Runtime's device
 * id and event database, which shows what the default prevents.
 */
const CI_VARIABLES = [
  'CI',
  'TF_BUILD',
  'GITHUB_ACTIONS',
  'GITLAB_CI',
  'CIRCLECI',
  'TRAVIS',
  'JENKINS_URL',
  'CODEBUILD_BUILD_ID',
  'BUILDKITE',
  'TEAMCITY_VERSION',
  'APPVEYOR',
  'BITBUCKET_BUILD_NUMBER',
];

async function predictIn(env: Record<string, string>): Promise<{ home: string[]; tmp: string[] }> {
  const [home, tmp] = await Promise.all([mkdtemp(path.join(os.tmpdir(), 'home-')), mkdtemp(path.join(os.tmpdir(), 'tmp-'))]);
  const { NODE_TEST_CONTEXT: _, ORT_DISABLE_TELEMETRY: __, ...inherited } = process.env;
  // ONNX Runtime keeps its telemetry off by itself where it sees a CI system's variables.
  for (const variable of CI_VARIABLES) delete inherited[variable];
  const run = spawnSync(
    process.execPath,
    [path.join(ROOT, 'dist/image_classification/cli/predict.js'), path.join(ROOT, 'data/glass.jpg')],
    {
      env: { ...inherited, HOME: home, TMPDIR: tmp, ...env },
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /"class":"glass"/);
  return { home: await readdir(home, { recursive: true }), tmp: await readdir(tmp, { recursive: true }) };
}

test('ONNX Runtime runs with its telemetry off: a prediction writes nothing to HOME or TMPDIR', async () => {
  assert.deepEqual(await predictIn({}), { home: [], tmp: [] });
});

test('ORT_DISABLE_TELEMETRY=0 lets ONNX Runtime keep its telemetry files, as it does by default elsewhere', async () => {
  const left = await predictIn({ ORT_DISABLE_TELEMETRY: '0' });
  assert.ok(
    left.home.some((file) => file.includes('.onnxruntime')),
    `ONNX Runtime's telemetry files in HOME: ${left.home.join(', ')}`,
  );
});

test("a handler's own ONNX Runtime session under serve runs with telemetry off too", async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
  const dir = await modelDirWithHandler(`const ort = require('onnxruntime-node');
    exports.modelFn = async (modelDir) => ort.InferenceSession.create(require('node:path').join(modelDir, 'model.onnx'));
    exports.transformFn = async (session) => session.inputNames.join(',');\n`);
  const served = await startServe({ SM_MODEL_DIR: dir, HOME: home, SAGEMAKER_MODEL_SERVER_WORKERS: '1' });
  try {
    const res = await invoke(served.url, Buffer.from('x'));
    assert.deepEqual([res.status, await res.text()], [200, 'input']);
    const left = (await readdir(served.tmpDir)).filter((file) => file === '.ses' || file.startsWith('mat-debug-'));
    assert.deepEqual({ home: await readdir(home, { recursive: true }), tmp: left }, { home: [], tmp: [] });
  } finally {
    served.killAll();
  }
});

import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  decodeNpy,
  encodeNpy,
  imagesToTensor,
  loadOnnxModel,
  toNumbers,
  type NdArray,
  type PreprocessingRecipe,
} from '../../image_classification';
import { startServe, type Served } from '../../harness/serve-process';
import { ROOT, sample, waitFor } from '../../harness/helpers';

/** The examples run against the ImageNet backbone shipped in model/backbone/. */
const BACKBONE = path.join(ROOT, 'model', 'backbone', 'mobilenet_v2_1.0_224.onnx');
const LABELS = path.join(ROOT, 'model', 'backbone', 'imagenet_labels.txt');
const IMAGENET_RECIPE: Partial<PreprocessingRecipe> = {
  resize_shorter_side: 256,
  crop_size: 224,
  rescale_factor: 1,
  mean: [128, 128, 128],
  std: [128, 128, 128],
};

const running: Served[] = [];
after(() => running.forEach((served) => served.killAll()));

/** A temp model dir as docs/handlers.md builds it: the backbone, its labels, and code/ from an example. */
async function exampleModelDir(example: string | undefined, handlerSource?: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'example-model-'));
  await cp(BACKBONE, path.join(dir, path.basename(BACKBONE)));
  await cp(LABELS, path.join(dir, path.basename(LABELS)));
  if (example) await cp(path.join(ROOT, 'examples', example, 'code'), path.join(dir, 'code'), { recursive: true });
  if (handlerSource) {
    await mkdir(path.join(dir, 'code'));
    await writeFile(path.join(dir, 'code', 'inference.js'), handlerSource);
  }
  return dir;
}

async function serveModelDir(dir: string, waitForPing = true): Promise<Served> {
  const served = await startServe({ SM_MODEL_DIR: dir, SAGEMAKER_MODEL_SERVER_WORKERS: '1' }, { waitForPing });
  running.push(served);
  return served;
}

/** The backbone run directly, without the server, for the expected answers. */
async function backboneOutput(tensor: NdArray, output: 'probs' | 'logits'): Promise<NdArray> {
  const model = await loadOnnxModel(BACKBONE, { device: 'cpu', intraOpThreads: 1 });
  try {
    return (await model.run({ input: tensor }, [output]))[output]!;
  } finally {
    await model.close();
  }
}

test('examples/imagenet-top5 served by `serve` from a model dir with code/', async () => {
  const served = await serveModelDir(await exampleModelDir('imagenet-top5'));
  const jpeg = await sample('plastic.jpg');
  const res = await fetch(`${served.url}/invocations`, {
    method: 'POST',
    body: jpeg,
    headers: { 'Content-Type': 'image/jpeg', 'X-Amzn-SageMaker-Custom-Attributes': 'trace-id=7' },
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-amzn-sagemaker-custom-attributes'), 'trace-id=7');
  const { top5 } = (await res.json()) as { top5: { label: string; probability: number }[] };
  assert.equal(top5.length, 5);
  const probs = toNumbers(await backboneOutput(await imagesToTensor([jpeg], IMAGENET_RECIPE), 'probs'));
  const labels = (await readFile(LABELS, 'utf8')).trimEnd().split('\n');
  const expected = probs
    .map((probability, index) => ({ label: labels[index], probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, 5);
  assert.deepEqual(
    top5.map((row) => row.label),
    expected.map((row) => row.label),
  );
  top5.forEach((row, i) => assert.ok(Math.abs(row.probability - expected[i]!.probability) < 1e-5));

  const csv = await fetch(`${served.url}/invocations`, {
    method: 'POST',
    body: jpeg,
    headers: { 'Content-Type': 'image/jpeg', Accept: 'text/csv' },
  });
  assert.equal((await csv.text()).split('\n')[0], 'label,probability');
  const refused = await fetch(`${served.url}/invocations`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(refused.status, 415);
});

test('examples/npy-logits: NPY in, raw logits out as NPY or JSON', async () => {
  const served = await serveModelDir(await exampleModelDir('npy-logits'));
  const tensor = await imagesToTensor([await sample('glass.jpg'), await sample('paper.jpg')], IMAGENET_RECIPE);
  const expected = toNumbers(await backboneOutput({ ...tensor, data: tensor.data.slice() }, 'logits'));
  const post = (body: Buffer, accept: string) =>
    fetch(`${served.url}/invocations`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-npy', Accept: accept } });

  const npy = await post(encodeNpy(tensor), 'application/x-npy');
  assert.equal(npy.status, 200);
  const logits = decodeNpy(Buffer.from(await npy.arrayBuffer()));
  assert.deepEqual(logits.shape, [2, 1001]);
  assert.ok(toNumbers(logits).every((value, i) => Math.abs(value - expected[i]!) < 1e-3));

  const json = (await (await post(encodeNpy(tensor), 'application/json')).json()) as { predictions: number[][] };
  assert.deepEqual([json.predictions.length, json.predictions[0]!.length], [2, 1001]);
  const wrong = await post(encodeNpy({ dtype: 'float32', shape: [1, 3, 8, 8], data: new Float32Array(192) }), 'application/json');
  assert.equal(wrong.status, 422);
  const pickle = await post(await readFile(path.join(ROOT, 'test/fixtures/npy/object.npy')), 'application/json');
  assert.equal(pickle.status, 400);
});

test('a handler that cannot work keeps /ping at 503 with the reason, through serve', async () => {
  const served = await serveModelDir(
    await exampleModelDir(undefined, 'exports.transformFn = () => ""; exports.outputFn = () => "";'),
    false,
  );
  let ping: { status?: string; reason?: string } = {};
  await waitFor(
    async () => {
      const res = await fetch(`${served.url}/ping`);
      ping = (await res.json()) as typeof ping;
      return res.status === 503 && ping.status === 'failed';
    },
    20_000,
    'the worker to report its failed handler',
  );
  assert.match(ping.reason ?? '', /transformFn replaces them/);
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import {
  LABELS_FILE,
  MODEL_FILE,
  readModelBundle,
  SPEC_FILE,
  unpackArchive,
  type ModelBundle,
} from '../../image_classification/model/model-dir';
import { Predictor } from '../../image_classification/classifier/predictor';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../../image_classification/preprocess/limits';
import { readDataset } from '../../image_classification/training/dataset';
import { FIXTURE_TREE, ROOT, SHIPPED_ARCHIVE, silentLogger } from '../../harness/helpers';

const run = promisify(execFile);
const quantizeCli = path.join(ROOT, 'dist', 'image_classification', 'cli', 'quantize.js');

async function classes(bundle: ModelBundle, images: Buffer[]): Promise<string[]> {
  const predictor = await Predictor.load(
    bundle,
    { device: 'cpu', intraOpThreads: 2, maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS, batching: { maxBatchSize: 4, maxDelayMs: 0 } },
    silentLogger,
  );
  try {
    return (await predictor.predict(images)).map((p) => p.class);
  } finally {
    await predictor.close();
  }
}

test('the shipped model carries an int8 model.onnx and its float32 graph as model.cuda.onnx, and they agree', async () => {
  const bundle = await readModelBundle(await unpackArchive(SHIPPED_ARCHIVE));
  assert.ok(bundle.cudaOnnxPath, 'model.cuda.onnx is found');
  assert.ok((await readFile(bundle.onnxPath)).includes('QuantizeLinear'), 'model.onnx is the int8 QDQ graph');
  assert.ok(!(await readFile(bundle.cudaOnnxPath)).includes('QuantizeLinear'), 'model.cuda.onnx is float');
  const images = await Promise.all((await readDataset(FIXTURE_TREE)).items.map((i) => readFile(i.file)));
  const int8 = await classes(bundle, images);
  const float = await classes({ ...bundle, onnxPath: bundle.cudaOnnxPath }, images);
  assert.ok(int8.filter((c, i) => c === float[i]).length >= images.length - 1, `int8 ${int8.join()} vs float32 ${float.join()}`);
});

test('npm run quantize turns any float32 model dir into int8 + float32 that the server loads', { timeout: 120_000 }, async () => {
  const shipped = await readModelBundle(await unpackArchive(SHIPPED_ARCHIVE));
  const floatDir = await mkdtemp(path.join(os.tmpdir(), 'float-model-'));
  await copyFile(shipped.cudaOnnxPath!, path.join(floatDir, MODEL_FILE));
  for (const file of [LABELS_FILE, SPEC_FILE]) await copyFile(path.join(shipped.dir, file), path.join(floatDir, file));
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'quantized-')), 'model-int8');

  const { stdout, stderr } = await run(process.execPath, [quantizeCli, '--model', floatDir, '--calibration', FIXTURE_TREE, '--out', out]);
  assert.equal(stdout.trim(), out);
  assert.match(stderr, /52 Conv and 10 Add layers quantized/);
  const bundle = await readModelBundle(out);
  assert.ok((await readFile(bundle.onnxPath)).includes('QuantizeLinear'));
  assert.deepEqual(
    await readFile(bundle.cudaOnnxPath!),
    await readFile(path.join(floatDir, MODEL_FILE)),
    'the float32 graph is kept for CUDA',
  );
  const images = await Promise.all((await readDataset(FIXTURE_TREE)).items.map((i) => readFile(i.file)));
  const int8 = await classes(bundle, images);
  const float = await classes(await readModelBundle(floatDir), images);
  assert.ok(int8.filter((c, i) => c === float[i]).length >= images.length - 2, `int8 ${int8.join()} vs float32 ${float.join()}`);

  const again = await run(process.execPath, [quantizeCli, '--model', out, '--calibration', FIXTURE_TREE]).catch(
    (error: { code: number; stderr: string }) => error,
  );
  assert.equal((again as { code: number }).code, 1, 'an int8 model is refused, not quantized twice');
  assert.match((again as { stderr: string }).stderr, /already holds QuantizeLinear/);
});

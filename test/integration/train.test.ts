import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { materialise, readModelBundle } from '../../image_classification/model/model-dir';
import { Predictor } from '../../image_classification/classifier/predictor';
import { readDataset } from '../../image_classification/training/dataset';
import { FIXTURE_TREE, ROOT, silentLogger } from '../../harness/helpers';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../../image_classification/preprocess/limits';

const run = promisify(execFile);
const cli = (name: string) => path.join(ROOT, 'dist', 'image_classification', 'cli', `${name}.js`);

test(
  'npm run train on a tiny real-photo tree produces an int8 model (+ its float32 graph) the server loads and that beats chance',
  { timeout: 240_000 },
  async () => {
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'train-test-')), 'model.tar.gz');
    const { stdout, stderr } = await run(process.execPath, [
      cli('train'),
      '--data',
      FIXTURE_TREE,
      '--val',
      FIXTURE_TREE,
      '--out',
      out,
      '--folds',
      '2',
      '--l2',
      '0.01,0.1',
      '--iterations',
      '60',
    ]);
    // The tool checks the exported graph against the training-time maths and prints the gap.
    const diff = Number(/max \|diff\| = ([\d.e+-]+)/.exec(stderr)?.[1]);
    assert.ok(diff <= 1e-4, `exported graph matches training to 1e-4 (got ${diff})\n${stderr}`);
    assert.match(stdout, /\| stage \| seconds \|/);
    for (const file of ['EVAL.md', 'confusion-matrix.png']) assert.ok(existsSync(path.join(path.dirname(out), file)), file);

    const bundle = await readModelBundle(await materialise(out));
    assert.deepEqual(bundle.labels, ['glass', 'paper', 'plastic']);
    assert.ok(bundle.cudaOnnxPath, 'int8 by default: the float32 graph ships beside it as model.cuda.onnx');
    const report = await readFile(path.join(path.dirname(out), 'EVAL.md'), 'utf8');
    assert.match(report, /## int8 vs float32/);
    assert.match(report, /val top-1 agreement int8 vs float32 \| \| \| [\d.]+% \(\d+\/12\)/);
    const predictor = await Predictor.load(
      bundle,
      { device: 'cpu', intraOpThreads: 2, maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS, batching: { maxBatchSize: 4, maxDelayMs: 0 } },
      silentLogger,
    );
    const dataset = await readDataset(FIXTURE_TREE, bundle.labels);
    const predictions = await predictor.predict(await Promise.all(dataset.items.map((i) => readFile(i.file))));
    await predictor.close();
    const correct = predictions.filter((p, i) => p.class === bundle.labels[dataset.items[i]!.label]).length;
    assert.ok(correct / predictions.length > 1 / 3 + 0.2, `${correct}/${predictions.length} correct`);

    const evaluation = await run(process.execPath, [cli('evaluate'), '--model', out, '--data', FIXTURE_TREE]);
    assert.match(evaluation.stdout, new RegExp(`Accuracy: \\*\\*[\\d.]+%\\*\\* \\(${correct}/${predictions.length}\\)`));
    assert.match(evaluation.stdout, /\| true \\ predicted \| glass \| paper \| plastic \|/);
  },
);

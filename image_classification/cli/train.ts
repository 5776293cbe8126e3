import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MOBILENET_V2_SPEC, MOBILENET_V2_SPEC_OVERRIDES, DEFAULT_BACKBONE, DEFAULT_FEATURES_OUTPUT } from '../training/backbone';
import { writeConfusionPng } from '../training/confusion-png';
import { argmax, crossValidateL2, expandLabels, selectImages, type FoldedData } from '../training/cross-validation';
import { mergeDatasets, readDataset, type Dataset } from '../training/dataset';
import { extractFeatures, type FeatureMatrix } from '../training/features';
import { evaluatePredictions, formatEvaluation } from '../training/metrics';
import { appendClassifierHead } from '../training/onnx-graph';
import { packModel } from '../training/package';
import { DEFAULT_TRAIN_OPTIONS, fitStandardizer, foldStandardizer, predictProbabilities, standardize, trainSoftmaxRegression } from '../training/softmax-regression';
import { verifyExport } from '../training/verify';
import { parseCli, runCli, StageTimer } from './args';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../preprocess/limits';

const USAGE = `usage: npm run train -- --data DIR [--val DIR] [--backbone FILE] [--out model/model.tar.gz]
       [--seed S] [--folds K] [--l2 a,b,c] [--iterations N] [--threads N] [--no-flip] [--train-only]
DIR holds one folder of images per class. The L2 strength is chosen by K-fold
cross-validation on --data only; --val is then reported (EVAL.md + confusion-matrix.png
next to --out) and, unless --train-only, added to the data the shipped head is fit on.`;

const VIEWS_WITH_FLIP = 2;

interface Split {
  readonly dataset: Dataset;
  readonly features: FeatureMatrix;
}

function folded(split: Split, views: number): FoldedData {
  return { features: split.features, labels: split.dataset.items.map((i) => i.label), views, classes: split.dataset.classes.length };
}

/** Fit standardiser + head on every image of `data`, all views. */
function fitHead(data: FoldedData, l2: number, iterations: number) {
  const images = data.labels.map((_, i) => i);
  const standardizer = fitStandardizer(data.features);
  const head = trainSoftmaxRegression(standardize(data.features, standardizer), expandLabels(data.labels, images, data.views), data.classes, {
    ...DEFAULT_TRAIN_OPTIONS,
    iterations,
    l2,
  });
  return { standardizer, head };
}

runCli(async () => {
  const { values } = parseCli(
    {
      data: { type: 'string' },
      val: { type: 'string' },
      backbone: { type: 'string', default: DEFAULT_BACKBONE },
      out: { type: 'string', default: 'model/model.tar.gz' },
      seed: { type: 'string', default: '42' },
      folds: { type: 'string', default: '5' },
      l2: { type: 'string', default: '0.003,0.01,0.03,0.1' },
      iterations: { type: 'string', default: String(DEFAULT_TRAIN_OPTIONS.iterations) },
      threads: { type: 'string', default: String(os.availableParallelism()) },
      'no-flip': { type: 'boolean', default: false },
      'train-only': { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.data) throw new Error(`--data is required\n\n${USAGE}`);
  const timer = new StageTimer();
  const views = values['no-flip'] ? 1 : VIEWS_WITH_FLIP;
  const iterations = Number(values.iterations);
  const candidates = values.l2.split(',').map(Number);
  const extract = (dataset: Dataset, label: string) =>
    extractFeatures(
      dataset.items.map((i) => i.file),
      { backbone: values.backbone, outputName: DEFAULT_FEATURES_OUTPUT, spec: MOBILENET_V2_SPEC, threads: Number(values.threads), maxPixels: DEFAULT_MAX_IMAGE_PIXELS, withFlips: views > 1, label },
    );

  const trainSet = await readDataset(values.data);
  const train: Split = { dataset: trainSet, features: await timer.time('extract train features', () => extract(trainSet, 'train')) };
  const valSet = values.val ? await readDataset(values.val, trainSet.classes) : undefined;
  const val: Split | undefined = valSet && { dataset: valSet, features: await timer.time('extract val features', () => extract(valSet, 'val')) };
  console.error(`classes: ${trainSet.classes.join(', ')}; train ${trainSet.items.length} images${valSet ? `, val ${valSet.items.length}` : ''}; ${views} view(s) each`);

  const cv = await timer.time('cross-validate L2 on train', () =>
    crossValidateL2(folded(train, views), candidates, Number(values.folds), values.seed, { ...DEFAULT_TRAIN_OPTIONS, iterations }),
  );
  for (const s of cv.scores) console.error(`  l2=${s.l2}: ${(100 * s.accuracy).toFixed(1)}% (${values.folds}-fold CV)`);
  console.error(`chosen l2=${cv.best.l2}`);

  const outDir = path.dirname(values.out);
  await mkdir(outDir, { recursive: true });
  let report = '';
  if (val) {
    const { standardizer, head } = await timer.time('fit head on train', () => fitHead(folded(train, views), cv.best.l2, iterations));
    const firstViews = selectImages(val.features, val.dataset.items.map((_, i) => i), views);
    const probs = predictProbabilities(head, standardize(firstViews, standardizer));
    const predicted = val.dataset.items.map((_, i) => argmax(probs.subarray(i * views * head.classes, (i * views + 1) * head.classes)));
    const evaluation = evaluatePredictions(val.dataset.items.map((i) => i.label), predicted, trainSet.classes);
    report = formatEvaluation(evaluation);
    console.log(`\nValidation (head fit on --data only):\n${report}\n`);
    await writeConfusionPng(evaluation, 'validation split, head trained on train only', path.join(outDir, 'confusion-matrix.png'));
  }

  const final = val && !values['train-only'] ? mergeSplits(train, val) : train;
  const { standardizer, head } = await timer.time(`fit shipped head on ${final === train ? 'train' : 'train+val'}`, () =>
    fitHead(folded(final, views), cv.best.l2, iterations),
  );
  const onnxBytes = await timer.time('export ONNX graph', async () =>
    appendClassifierHead(await readFile(values.backbone), DEFAULT_FEATURES_OUTPUT, { ...foldStandardizer(head, standardizer), dim: head.dim, classes: head.classes }, MOBILENET_V2_SPEC.crop_size),
  );
  await timer.time('pack + verify', async () => {
    await packModel(values.out, onnxBytes, trainSet.classes, MOBILENET_V2_SPEC_OVERRIDES);
    const sample = (val ?? train).dataset.items.slice(0, 24).map((i) => i.file);
    const sampleFeatures = selectImages((val ?? train).features, sample.map((_, i) => i), views);
    const expected = predictProbabilities(head, standardize(sampleFeatures, standardizer));
    const maxDiff = await verifyExport(values.out, sample, expected, views);
    console.error(`exported graph vs training-time probabilities: max |diff| = ${maxDiff.toExponential(2)} over ${sample.length} images`);
  });

  const cvTable = ['| L2 | CV accuracy |', '|---:|---:|', ...cv.scores.map((s) => `| ${s.l2} | ${(100 * s.accuracy).toFixed(1)}% |`)].join('\n');
  const md = [
    '# Evaluation',
    '',
    `Command: \`npm run train -- ${process.argv.slice(2).join(' ')}\``,
    '',
    `Classes: ${trainSet.classes.join(', ')}. Train: ${trainSet.items.length} images; val: ${valSet?.items.length ?? 0}. Views per image: ${views} (original${views > 1 ? ' + mirror' : ''}). Seed ${values.seed}.`,
    '',
    `## L2 chosen by ${values.folds}-fold cross-validation on train only`,
    '',
    cvTable,
    '',
    `Chosen: L2 = ${cv.best.l2}.`,
    '',
    ...(report ? ['## Validation split (head trained on train only)', '', report, '', '![confusion matrix](confusion-matrix.png)', ''] : []),
    `## Shipped model`,
    '',
    `Head refit on ${final === train ? 'train' : 'train + val'} with the same L2; written to \`${values.out}\`.`,
    '',
    '## Time per stage (this machine)',
    '',
    timer.table(),
    '',
  ].join('\n');
  await writeFile(path.join(outDir, 'EVAL.md'), md);
  console.log(timer.table());
});

function mergeSplits(a: Split, b: Split): Split {
  const data = new Float32Array(a.features.data.length + b.features.data.length);
  data.set(a.features.data);
  data.set(b.features.data, a.features.data.length);
  return { dataset: mergeDatasets(a.dataset, b.dataset), features: { data, rows: a.features.rows + b.features.rows, dim: a.features.dim } };
}

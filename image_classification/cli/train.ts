import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BACKBONE, DEFAULT_INPUT_SIZE, DEFAULT_POOLED_EXTRA } from '../training/backbone';
import { writeConfusionPng } from '../training/confusion-png';
import { evalMarkdown } from '../training/report';
import { PIPELINE_DEFAULTS, trainPipeline, type PipelineOptions } from '../training/pipeline';
import { CALIBRATION_FLAGS, parseCalibrationOptions, CALIBRATION_USAGE } from './quantize-options';
import { StageTimer } from '../training/stage-timer';
import { parseCli, runCli } from './args';

const USAGE = `usage: npm run train -- --data DIR [--val DIR] [--backbone FILE] [--out trained/model.tar.gz]
       [--size ${DEFAULT_INPUT_SIZE}] [--precision int8|float32] [--seed S] [--folds K] [--l2 a,b,c]
       [--iterations N] [--threads N] [--no-flip] [--train-only] [--pooled-extra TENSOR|none]
       ${CALIBRATION_USAGE}
DIR holds one folder of images per class. The L2 strength is chosen by K-fold
cross-validation on --data only; --val is then reported (EVAL.md + confusion-matrix.png
next to --out) and, unless --train-only, added to the data the shipped head is fit on.
--out defaults to trained/ (ignored by git); --out model/model.tar.gz replaces the shipped
model and its model/EVAL.md.
--precision int8 (the default) ships an int8 model.onnx (calibrated on --data) and the
float32 graph as model.cuda.onnx; float32 ships the float32 graph alone as model.onnx.
--pooled-extra: a backbone tensor whose average-pooled channels are appended to the features
(default ${DEFAULT_POOLED_EXTRA}, a stride-16 block of the shipped MobileNetV2; none: off).`;

runCli(async () => {
  const { values } = parseCli(
    {
      data: { type: 'string' },
      val: { type: 'string' },
      backbone: { type: 'string', default: DEFAULT_BACKBONE },
      out: { type: 'string', default: 'trained/model.tar.gz' },
      size: { type: 'string', default: String(DEFAULT_INPUT_SIZE) },
      precision: { type: 'string', default: 'int8' },
      seed: { type: 'string', default: PIPELINE_DEFAULTS.seed },
      folds: { type: 'string', default: String(PIPELINE_DEFAULTS.folds) },
      l2: { type: 'string', default: PIPELINE_DEFAULTS.l2Candidates.join(',') },
      iterations: { type: 'string', default: String(PIPELINE_DEFAULTS.iterations) },
      threads: { type: 'string', default: String(os.availableParallelism()) },
      'no-flip': { type: 'boolean', default: false },
      'train-only': { type: 'boolean', default: false },
      ...CALIBRATION_FLAGS,
      'pooled-extra': { type: 'string', default: DEFAULT_POOLED_EXTRA },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.data) throw new Error(`--data is required\n\n${USAGE}`);
  if (values.precision !== 'int8' && values.precision !== 'float32') throw new Error(`--precision must be int8 or float32\n\n${USAGE}`);
  const options: PipelineOptions = {
    data: values.data,
    val: values.val,
    backbone: values.backbone,
    out: values.out,
    size: Number(values.size),
    precision: values.precision,
    seed: values.seed,
    folds: Number(values.folds),
    l2Candidates: values.l2.split(',').map(Number),
    iterations: Number(values.iterations),
    threads: Number(values.threads),
    views: values['no-flip'] ? 1 : PIPELINE_DEFAULTS.views,
    trainOnly: values['train-only'],
    calibration: parseCalibrationOptions(values),
    pooledExtra: values['pooled-extra'] === 'none' ? undefined : values['pooled-extra'],
  };
  const timer = new StageTimer();
  await mkdir(path.dirname(options.out), { recursive: true });
  const result = await trainPipeline(options, timer);
  console.error(
    `classes: ${result.classes.join(', ')}; train ${result.trainImages} images, val ${result.valImages}; ${options.views} view(s) each`,
  );
  console.error(
    'exported graph vs training-time probabilities: max |diff| = ' +
      Math.max(result.exportDiff.model, result.exportDiff.cuda ?? 0).toExponential(2),
  );
  const served = (result.int8 ?? result.float).val;
  if (served)
    await writeConfusionPng(
      served,
      `validation split (${result.int8 ? 'int8' : 'float32'}), head trained on train only`,
      path.join(path.dirname(options.out), 'confusion-matrix.png'),
    );
  const markdown = await evalMarkdown(options, result, `npm run train -- ${process.argv.slice(2).join(' ')}`, timer.table());
  await writeFile(path.join(path.dirname(options.out), 'EVAL.md'), markdown);
  console.log(markdown);
});

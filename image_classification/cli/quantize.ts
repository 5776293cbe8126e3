import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packDirectory } from '../model/pack';
import { CUDA_MODEL_FILE, materialise, MODEL_FILE, readModelBundle } from '../model/model-dir';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../preprocess/limits';
import { calibrationImages, imageBatches } from '../quantize/image-batches';
import { quantizeModel } from '../quantize/quantize';
import { listImages } from '../training/dataset';
import { CALIBRATION_USAGE, CALIBRATION_FLAGS, parseCalibrationOptions } from './quantize-options';
import { StageTimer } from '../training/stage-timer';
import { parseCli, runCli } from './args';

const USAGE = `usage: npm run quantize -- --model DIR|model.tar.gz --calibration DIR [--out DIR|model.tar.gz]
       [--keep-float NODE,…] [--threads N] ${CALIBRATION_USAGE}
Quantizes the model directory's float32 model.onnx to int8 (QDQ: Conv and Add layers,
per-channel weights, uint8 activations calibrated on the images under --calibration, in any
folder layout; use photos like the ones it will serve). Writes a model directory (or, for
an --out ending in .tar.gz, an archive) with the int8 graph as model.onnx and the float32
graph as model.cuda.onnx (what the CUDA provider runs); every other file is copied as is.
Default --out: DIR-int8.`;

runCli(async () => {
  const { values } = parseCli(
    {
      model: { type: 'string' },
      calibration: { type: 'string' },
      out: { type: 'string' },
      'keep-float': { type: 'string', default: '' },
      threads: { type: 'string', default: String(os.availableParallelism()) },
      ...CALIBRATION_FLAGS,
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.model || !values.calibration) throw new Error(`--model and --calibration are required\n\n${USAGE}`);
  const calibration = parseCalibrationOptions(values);
  const timer = new StageTimer();
  const source = await materialise(values.model);
  const staging = await mkdtemp(path.join(os.tmpdir(), 'quantize-'));
  try {
    const bundle = await readModelBundle(source);
    const float = await readFile(bundle.onnxPath);
    const files = calibrationImages(await listImages(values.calibration), calibration.images);
    const result = await timer.time(`calibrate on ${files.length} images + quantize`, () =>
      quantizeModel(float, imageBatches(files, bundle.spec, DEFAULT_MAX_IMAGE_PIXELS), {
        ...calibration,
        keepFloat: new Set(values['keep-float'].split(',').filter(Boolean)),
        threads: Number(values.threads),
      }),
    );
    const out = values.out ?? `${values.model.replace(/(\.tar\.gz|\.tgz)$/, '').replace(/\/+$/, '')}-int8`;
    // A directory is written in place; an archive is packed from a staging copy.
    const target = out.endsWith('.tar.gz') ? staging : out;
    await cp(source, target, { recursive: true });
    await writeFile(path.join(target, MODEL_FILE), result.model);
    if (!existsSync(path.join(target, CUDA_MODEL_FILE))) await writeFile(path.join(target, CUDA_MODEL_FILE), float);
    if (target === staging) await packDirectory(staging, out);
    console.error(
      `${result.quantizedConvs} Conv and ${result.quantizedAdds} Add layers quantized ` +
        `(${result.calibratedTensors} activation ranges, ${calibration.statistic}); ` +
        `${(float.length / 1e6).toFixed(1)} MB float32 -> ${(result.model.length / 1e6).toFixed(1)} MB int8`,
    );
    console.log(out);
  } finally {
    await rm(staging, { recursive: true, force: true });
    if (source !== values.model) await rm(source, { recursive: true, force: true });
  }
});

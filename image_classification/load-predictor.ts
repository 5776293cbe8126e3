import os from 'node:os';
import { createLogger } from './logger';
import { materialise, readModelBundle, resolveModelDir } from './model/model-dir';
import { Predictor } from './predictor';
import { DEFAULT_MAX_IMAGE_PIXELS } from './preprocess/limits';

/**
 * A Predictor for command-line use: the given model dir or model.tar.gz, else the same
 * resolution as the server (SM_MODEL_DIR, /opt/ml/model, the shipped model). CPU, all cores.
 */
export async function loadPredictor(location: string | undefined): Promise<Predictor> {
  const dir = location ? await materialise(location) : (await resolveModelDir(process.env.SM_MODEL_DIR)).dir;
  const bundle = await readModelBundle(dir);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  return Predictor.load(bundle, { device: 'cpu', intraOpThreads: os.availableParallelism(), maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS, batching: { maxBatchSize: 8, maxDelayMs: 0 } }, logger);
}

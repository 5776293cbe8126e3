import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { modelSpecSchema, labelsSchema, type ModelSpec } from './spec';
import { packageRoot } from '../paths';

/** File names inside a model directory (see README, "Model directory format"). */
export const MODEL_FILE = 'model.onnx';
export const LABELS_FILE = 'labels.json';
export const SPEC_FILE = 'preprocessing.json';
export const ARCHIVE_FILE = 'model.tar.gz';

export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

export class ModelDirError extends Error {
  override name = 'ModelDirError';
}

export interface ModelBundle {
  readonly dir: string;
  readonly onnxPath: string;
  readonly labels: readonly string[];
  readonly spec: ModelSpec;
}

export type ModelSource = 'SM_MODEL_DIR' | 'opt_ml_model' | 'shipped';

export interface ResolvedModelDir {
  readonly dir: string;
  readonly source: ModelSource;
  /** The dir is a temp copy unpacked from an archive; whoever resolved it may delete it. */
  readonly unpacked: boolean;
}

/**
 * Where the model comes from: SM_MODEL_DIR if set, else /opt/ml/model if it exists, else the
 * model shipped in this package. Archives are unpacked to a fresh temp dir.
 */
export async function resolveModelDir(
  configured: string | undefined,
  sagemakerDir = SAGEMAKER_MODEL_DIR,
): Promise<ResolvedModelDir> {
  const location = configured ?? (existsSync(sagemakerDir) ? sagemakerDir : undefined);
  const source: ModelSource = configured ? 'SM_MODEL_DIR' : location ? 'opt_ml_model' : 'shipped';
  const dir = await materialise(location ?? path.join(packageRoot(), 'model', ARCHIVE_FILE));
  return { dir, source, unpacked: dir !== location };
}

/** A model directory, a directory that holds only model.tar.gz, or a model.tar.gz itself. */
export async function materialise(location: string): Promise<string> {
  if (!existsSync(location)) throw new ModelDirError(`model location ${location} does not exist`);
  if (location.endsWith('.tar.gz') || location.endsWith('.tgz')) return unpackArchive(location);
  const archive = path.join(location, ARCHIVE_FILE);
  if (!existsSync(path.join(location, MODEL_FILE)) && existsSync(archive)) return unpackArchive(archive);
  return location;
}

export async function unpackArchive(archive: string): Promise<string> {
  if (!existsSync(archive)) throw new ModelDirError(`model archive ${archive} does not exist`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'model-'));
  await tar.x({ file: archive, cwd: dir, strict: true });
  return dir;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ModelDirError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

export async function readModelBundle(dir: string): Promise<ModelBundle> {
  const onnxPath = path.join(dir, MODEL_FILE);
  if (!existsSync(onnxPath)) {
    const present = existsSync(dir) ? (await readdir(dir)).join(', ') || 'nothing' : 'no such directory';
    throw new ModelDirError(`${onnxPath} is missing (model dir holds: ${present})`);
  }
  const labels = labelsSchema.safeParse(await readJson(path.join(dir, LABELS_FILE)));
  if (!labels.success) throw new ModelDirError(`${LABELS_FILE} must be a non-empty JSON array of class names`);
  const specFile = path.join(dir, SPEC_FILE);
  const spec = modelSpecSchema.safeParse(existsSync(specFile) ? await readJson(specFile) : {});
  if (!spec.success) {
    throw new ModelDirError(`${SPEC_FILE} is invalid: ${spec.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  }
  return { dir, onnxPath, labels: labels.data, spec: spec.data };
}

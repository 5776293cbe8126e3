import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { ModelDirError } from '../errors';
import { modelSpecSchema, labelsSchema, type ModelSpec } from './spec';
import { packageRoot } from '../paths';

/** File names inside a model directory (see docs/handlers.md, "Model directory format"). */
export const MODEL_FILE = 'model.onnx';
/** Optional: the graph the CUDA provider runs instead of model.onnx (a float graph beside an int8 one). */
export const CUDA_MODEL_FILE = 'model.cuda.onnx';
export const LABELS_FILE = 'labels.json';
export const SPEC_FILE = 'preprocessing.json';
export const ARCHIVE_FILE = 'model.tar.gz';

export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

export interface ModelBundle {
  readonly dir: string;
  readonly onnxPath: string;
  /** model.cuda.onnx when the directory has one: what the CUDA provider runs instead. */
  readonly cudaOnnxPath?: string;
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
 * Where the model comes from: SM_MODEL_DIR if set, else /opt/ml/model if it holds anything, else
 * the model shipped in this package. An empty /opt/ml/model is what a platform mounts when it
 * was given no model (an endpoint without ModelDataUrl, a pod whose init container fetched
 * nothing). Archives are unpacked to a fresh temp dir.
 */
export async function resolveModelDir(
  configured: string | undefined,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
  sagemakerDir = SAGEMAKER_MODEL_DIR,
): Promise<ResolvedModelDir> {
  const location = configured ?? (existsSync(sagemakerDir) && readdirSync(sagemakerDir).length > 0 ? sagemakerDir : undefined);
  const source: ModelSource = configured ? 'SM_MODEL_DIR' : location ? 'opt_ml_model' : 'shipped';
  const dir = await materialise(location ?? path.join(packageRoot(), 'model', ARCHIVE_FILE), limits);
  return { dir, source, unpacked: dir !== location };
}

/** A model directory, a directory that holds only model.tar.gz, or a model.tar.gz itself. */
export async function materialise(location: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<string> {
  if (!existsSync(location)) throw new ModelDirError(`model location ${location} does not exist`, 'model_not_found');
  if (location.endsWith('.tar.gz') || location.endsWith('.tgz')) return unpackArchive(location, limits);
  const archive = path.join(location, ARCHIVE_FILE);
  if (!existsSync(path.join(location, MODEL_FILE)) && existsSync(archive)) return unpackArchive(archive, limits);
  return location;
}

export interface ArchiveLimits {
  /** Bytes all files of an archive may unpack to (MODEL_SERVER_MAX_MODEL_MB). */
  readonly maxBytes: number;
}

/** MODEL_SERVER_MAX_MODEL_MB's default: far above any image classifier, far below a full disk. */
export const DEFAULT_MAX_MODEL_MB = 4096;

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxBytes: DEFAULT_MAX_MODEL_MB * 1024 * 1024 };

/** A model archive holds a handful of files; a million tiny ones is not a model. */
const MAX_ARCHIVE_ENTRIES = 10_000;

/** Plain files and directories only: a link in an archive could point anywhere. */
const EXTRACTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/**
 * Unpack into a fresh temp dir, counting the bytes each entry really holds (a tar header's
 * size is what follows it in the stream, so a gzip bomb is stopped at the limit, not after
 * it). On any failure the temp dir is removed.
 */
export async function unpackArchive(archive: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<string> {
  if (!existsSync(archive)) throw new ModelDirError(`model archive ${archive} does not exist`, 'model_not_found');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'model-'));
  let bytes = 0;
  let entries = 0;
  const unpack = new tar.Unpack({
    cwd: dir,
    strict: true,
    filter: (_path, entry) => {
      const { size = 0, type } = entry as tar.ReadEntry;
      bytes += size;
      entries++;
      if (bytes > limits.maxBytes || entries > MAX_ARCHIVE_ENTRIES) {
        const what =
          entries > MAX_ARCHIVE_ENTRIES
            ? `more than ${MAX_ARCHIVE_ENTRIES} entries`
            : `more than ${limits.maxBytes} bytes (MODEL_SERVER_MAX_MODEL_MB)`;
        unpack.abort(new ModelDirError(`${path.basename(archive)} unpacks to ${what}`, 'model_archive_invalid'));
        return false;
      }
      return EXTRACTED_TYPES.has(type);
    },
  });
  try {
    await pipeline(createReadStream(archive), unpack);
    return dir;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (error instanceof ModelDirError) throw error;
    throw new ModelDirError(`${path.basename(archive)} could not be unpacked (${(error as Error).message})`, 'model_archive_invalid');
  }
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelDirError(code === 'ENOENT' ? `${path.basename(file)} is missing` : `${path.basename(file)} cannot be read (${code})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file.
    throw new ModelDirError(`${path.basename(file)} is not valid JSON`);
  }
}

export async function readModelBundle(dir: string): Promise<ModelBundle> {
  const onnxPath = path.join(dir, MODEL_FILE);
  if (!existsSync(onnxPath)) {
    const present = existsSync(dir) ? (await readdir(dir)).join(', ') || 'nothing' : 'no such directory';
    throw new ModelDirError(`${MODEL_FILE} is missing (model dir holds: ${present})`, 'model_not_found');
  }
  const labels = labelsSchema.safeParse(await readJson(path.join(dir, LABELS_FILE)));
  if (!labels.success) throw new ModelDirError(`${LABELS_FILE} must be a non-empty JSON array of distinct class names`);
  const spec = await readModelSpec(dir);
  const cudaOnnxPath = path.join(dir, CUDA_MODEL_FILE);
  return { dir, onnxPath, ...(existsSync(cudaOnnxPath) ? { cudaOnnxPath } : {}), labels: labels.data, spec };
}

/** A model directory's preprocessing.json, with the documented defaults for what it leaves out (or for no file). */
export async function readModelSpec(dir: string): Promise<ModelSpec> {
  const specFile = path.join(dir, SPEC_FILE);
  const spec = modelSpecSchema.safeParse(existsSync(specFile) ? await readJson(specFile) : {});
  if (!spec.success) {
    throw new ModelDirError(`${SPEC_FILE} is invalid: ${spec.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  }
  return spec.data;
}

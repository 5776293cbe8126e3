import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelDirError } from '../errors';
import { unpackOnThread } from './archive';
import { fileKind, readJsonFile } from './model-files';
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

const MODEL_SOURCES = ['SM_MODEL_DIR', 'opt_ml_model', 'shipped'] as const;
export type ModelSource = (typeof MODEL_SOURCES)[number];

export function isModelSource(value: string): value is ModelSource {
  return (MODEL_SOURCES as readonly string[]).includes(value);
}

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

/** A model directory, a directory that holds only model.tar.gz, or a .tar.gz / .tgz archive itself. */
export async function materialise(location: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<string> {
  const kind = await fileKind(location);
  if (kind === 'missing') throw new ModelDirError(`model location ${location} does not exist`, 'model_not_found');
  if (kind === 'file' && /\.(tar\.gz|tgz)$/.test(location)) return unpackArchive(location, limits);
  if (kind !== 'directory') {
    throw new ModelDirError(`model location ${location} is neither a model directory nor a .tar.gz archive`, 'model_invalid');
  }
  const archive = path.join(location, ARCHIVE_FILE);
  if ((await fileKind(path.join(location, MODEL_FILE))) === 'missing' && (await fileKind(archive)) === 'file') {
    return unpackArchive(archive, limits);
  }
  return location;
}

export interface ArchiveLimits {
  /** Bytes an archive may inflate to, trailing data included (MODEL_SERVER_MAX_MODEL_MB). */
  readonly maxBytes: number;
  /** How long unpacking may take (MODEL_SERVER_LOAD_TIMEOUT). */
  readonly timeoutMs?: number;
  /** Stops an unpack under way (serve shutting down). */
  readonly signal?: AbortSignal;
  /** Where the unpacked copy's directory is made (default: the system's temp dir). */
  readonly parentDir?: string;
}

/** MODEL_SERVER_MAX_MODEL_MB's default: far above any image classifier, far below a full disk. */
export const DEFAULT_MAX_MODEL_MB = 4096;

/** MODEL_SERVER_LOAD_TIMEOUT's default, in ms: what unpacking may take unless told otherwise. */
const DEFAULT_UNPACK_TIMEOUT_MS = 300_000;

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxBytes: DEFAULT_MAX_MODEL_MB * 1024 * 1024 };

/** A model archive holds a handful of files; a million tiny ones is not a model. */
export const MAX_ARCHIVE_ENTRIES = 10_000;

/**
 * Unpack into a fresh temp dir, on a thread of its own (model/unpack-thread.ts) under a time
 * limit, counting the bytes gunzip inflates. Plain files and directories only. On any failure
 * the thread is stopped, the temp dir removed, and the archive refused as model_archive_invalid.
 */
export async function unpackArchive(archive: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<string> {
  const kind = await fileKind(archive);
  if (kind === 'missing') throw new ModelDirError(`model archive ${archive} does not exist`, 'model_not_found');
  if (kind !== 'file') throw new ModelDirError(`${path.basename(archive)} is not a regular file`, 'model_archive_invalid');
  const dir = await mkdtemp(path.join(limits.parentDir ?? os.tmpdir(), 'model-'));
  const job = { archive, dir, maxBytes: limits.maxBytes, maxEntries: MAX_ARCHIVE_ENTRIES };
  const failure = await unpackOnThread(job, limits.timeoutMs ?? DEFAULT_UNPACK_TIMEOUT_MS, limits.signal);
  if (failure === undefined) return dir;
  await rm(dir, { recursive: true, force: true });
  throw new ModelDirError(`${path.basename(archive)} was refused: ${failure}`, 'model_archive_invalid');
}

export async function readModelBundle(dir: string): Promise<ModelBundle> {
  const onnxPath = path.join(dir, MODEL_FILE);
  const onnxKind = await fileKind(onnxPath);
  if (onnxKind === 'missing') {
    if (!existsSync(dir)) throw new ModelDirError('the model dir does not exist', 'model_not_found');
    const present = (await readdir(dir)).join(', ') || 'nothing';
    throw new ModelDirError(`${MODEL_FILE} is missing (model dir holds: ${present})`, 'model_not_found');
  }
  if (onnxKind !== 'file') throw new ModelDirError(`${MODEL_FILE} is not a regular file`);
  const labels = labelsSchema.safeParse(await readJsonFile(path.join(dir, LABELS_FILE)));
  if (!labels.success) throw new ModelDirError(`${LABELS_FILE} must be a non-empty JSON array of distinct class names`);
  const spec = await readModelSpec(dir);
  const cudaOnnxPath = path.join(dir, CUDA_MODEL_FILE);
  return { dir, onnxPath, ...(existsSync(cudaOnnxPath) ? { cudaOnnxPath } : {}), labels: labels.data, spec };
}

/** A model directory's preprocessing.json, with the documented defaults for what it leaves out (or for no file). */
export async function readModelSpec(dir: string): Promise<ModelSpec> {
  const specFile = path.join(dir, SPEC_FILE);
  const spec = modelSpecSchema.safeParse((await fileKind(specFile)) === 'missing' ? {} : await readJsonFile(specFile));
  if (!spec.success) {
    throw new ModelDirError(`${SPEC_FILE} is invalid: ${spec.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  }
  return spec.data;
}

import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { BadRequestError, ModelDirError } from '../errors';
import { MODEL_FILE, readModelSpec } from '../model/model-dir';
import { fileKind } from '../model/model-files';
import type { ModelSpec } from '../model/spec';
import { isInside } from './names';

/** A model directory holds a handful of files; one with more is refused, not walked to its end. */
export const MAX_MODEL_DIR_ENTRIES = 10_000;

export interface InspectedModel {
  /** Bytes of its regular files (what a worker may read into memory). */
  readonly fileBytes: number;
  readonly spec: ModelSpec;
}

/**
 * What serve checks before any worker loads a model directory: every link in it resolves
 * inside `linkRoot` (the models root: a link must not let a worker read, or run, anything
 * else), model.onnx (when there is one: a handler may bring its own model) is a regular file,
 * and preprocessing.json is valid and within its caps. Also sums the files' sizes.
 */
export async function inspectModelDir(dir: string, linkRoot: string): Promise<InspectedModel> {
  const realRoot = await realpath(linkRoot);
  let fileBytes = 0;
  let entries = 0;
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (++entries > MAX_MODEL_DIR_ENTRIES)
        throw new ModelDirError(`the model directory holds more than ${MAX_MODEL_DIR_ENTRIES} entries`);
      const full = path.join(folder, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await realpath(full).catch(() => undefined);
        if (target !== undefined && !isInside(realRoot, target)) {
          throw new BadRequestError(
            `a link in the model directory (${entry.name}) points outside the models root`,
            'model_url_outside_root',
          );
        }
      }
      const info = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : await lstat(full);
      if (info?.isDirectory() && !entry.isSymbolicLink()) await walk(full);
      else if (info?.isFile()) fileBytes += info.size;
    }
  };
  await walk(dir);
  const onnx = await fileKind(path.join(dir, MODEL_FILE));
  if (onnx !== 'missing' && onnx !== 'file') throw new ModelDirError(`${MODEL_FILE} is not a regular file`);
  return { fileBytes, spec: await readModelSpec(dir) };
}

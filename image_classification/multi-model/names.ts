import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { BadRequestError, clip, ModelLocationNotFoundError } from '../errors';

/**
 * Model names and locations a client may give. A name is used as a map key, in URLs and in
 * logs, never as a path; a location must resolve (symlinks followed) inside the models root
 * (MODEL_SERVER_MODELS_ROOT), so no request can make a worker read anything else.
 */

/**
 * SageMaker's names are opaque tokens; these characters cover them and need no escaping
 * anywhere (nginx routes /models/{name}/invoke by the same pattern).
 */
export const MODEL_NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]{0,255}';
const MODEL_NAME = new RegExp(`^${MODEL_NAME_PATTERN}$`);

export function checkModelName(name: unknown): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    const shown = typeof name === 'string' ? `'${clip(name)}'` : 'missing';
    throw new BadRequestError(
      `model name ${shown} is invalid: 1-256 of A-Z a-z 0-9 . _ -, starting with a letter or digit`,
      'invalid_model_name',
    );
  }
  return name;
}

/** The header InvokeEndpoint's TargetModel arrives in (logged by serve and its workers). */
export const TARGET_MODEL = 'x-amzn-sagemaker-target-model';

/** `X-Amzn-SageMaker-Target-Model: foo.tar.gz` names the model `foo` (a file or folder in the models root). */
export function targetModelName(target: string | undefined): string {
  if (!target)
    throw new BadRequestError("a multi-model endpoint needs X-Amzn-SageMaker-Target-Model (the SDK's TargetModel)", 'target_model_missing');
  return checkModelName(target.replace(/\.(tar\.gz|tgz)$/, ''));
}

/**
 * The real path of `location` (absolute, or relative to the root) when it lies inside the
 * root, after following every symlink; 404 when it does not exist, 400 when it is outside.
 */
export async function resolveInsideRoot(root: string, location: unknown): Promise<string> {
  if (typeof location !== 'string' || location.length === 0 || location.length > 4096 || location.includes('\0')) {
    throw new BadRequestError('"url" must be a path to a model directory under the models root', 'invalid_model_url');
  }
  const realRoot = await realpath(root).catch(() => {
    throw new ModelLocationNotFoundError('the models root (MODEL_SERVER_MODELS_ROOT) does not exist');
  });
  const real = await realpath(path.resolve(realRoot, location)).catch(() => undefined);
  if (real === undefined) throw new ModelLocationNotFoundError(`no model at '${clip(location)}'`);
  const inside = path.relative(realRoot, real);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new BadRequestError(`'${clip(location)}' is not inside the models root`, 'model_url_outside_root');
  }
  return real;
}

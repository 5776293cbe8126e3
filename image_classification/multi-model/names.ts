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
    // A header's non-ASCII bytes arrive as Latin-1: echoed, they would read as garbage.
    const shown = typeof name !== 'string' ? 'missing' : /^[\x20-\x7e]*$/.test(name) ? `'${clip(name)}'` : '(not ASCII)';
    throw new BadRequestError(
      `model name ${shown} is invalid: 1-256 of A-Z a-z 0-9 . _ -, starting with a letter or digit`,
      'invalid_model_name',
    );
  }
  return name;
}

/** The header InvokeEndpoint's TargetModel arrives in (logged by serve and its workers). */
export const TARGET_MODEL = 'x-amzn-sagemaker-target-model';

/**
 * The model a TargetModel names: the whole value, `foo.tar.gz` included, is the name, and the
 * location is that path in the models root. So two archives never share a name, and a name
 * that a POST /models gave another location is refused (409) rather than answered by it.
 */
export function targetModelName(target: string | undefined): string {
  if (!target)
    throw new BadRequestError("a multi-model endpoint needs X-Amzn-SageMaker-Target-Model (the SDK's TargetModel)", 'target_model_missing');
  return checkModelName(target);
}

const OUTSIDE = 'model_url_outside_root';

/**
 * The real path of `location` (absolute, or relative to the root) when it lies inside the
 * root. First lexically, touching nothing outside the root; then with every symlink followed.
 * A location that is missing answers 404 only when the nearest part of it that exists is
 * inside the root: a link out of the root and a path beyond it both answer 400, so no
 * request can learn what exists outside.
 */
export async function resolveInsideRoot(root: string, location: unknown): Promise<string> {
  if (typeof location !== 'string' || location.length === 0 || location.length > 4096 || location.includes('\0')) {
    throw new BadRequestError('"url" must be a path to a model directory under the models root', 'invalid_model_url');
  }
  const outside = () => new BadRequestError(`'${clip(location)}' is not inside the models root`, OUTSIDE);
  const lexical = path.resolve(root, location);
  if (!isInside(path.resolve(root), lexical)) throw outside();
  const realRoot = await realpath(root).catch(() => {
    throw new ModelLocationNotFoundError('the models root (MODEL_SERVER_MODELS_ROOT) does not exist');
  });
  const real = await realpath(lexical).catch(() => undefined);
  if (real !== undefined) {
    if (!isInside(realRoot, real)) throw outside();
    return real;
  }
  let existing = path.dirname(lexical);
  let realExisting = await realpath(existing).catch(() => undefined);
  while (realExisting === undefined && existing !== path.dirname(existing)) {
    existing = path.dirname(existing);
    realExisting = await realpath(existing).catch(() => undefined);
  }
  if (realExisting === undefined || (realExisting !== realRoot && !isInside(realRoot, realExisting))) throw outside();
  throw new ModelLocationNotFoundError(`no model at '${clip(location)}'`);
}

/** `child` lies strictly inside `parent` (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

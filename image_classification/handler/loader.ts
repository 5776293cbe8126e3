import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HandlerLoadError } from '../errors';
import { HOOK_NAMES, snakeCaseName, type HookName, type InferenceHandler } from './api';

export interface HandlerSettings {
  /** SAGEMAKER_SUBMIT_DIRECTORY; default `<model dir>/code`. */
  readonly submitDirectory: string | undefined;
  /** SAGEMAKER_PROGRAM; default the first of inference.js, inference.mjs, inference.cjs. */
  readonly program: string | undefined;
}

const DEFAULT_PROGRAMS = ['inference.js', 'inference.mjs', 'inference.cjs'];
const MODULE_EXTENSIONS = ['.js', '.mjs', '.cjs'];

/** The handler module's path, or undefined when there is none (the built-in handler serves). */
export function locateHandler(settings: HandlerSettings, modelDir: string): string | undefined {
  const dir = settings.submitDirectory ?? path.join(modelDir, 'code');
  if (/^[a-z0-9]+:\/\//i.test(dir)) throw new HandlerLoadError(`SAGEMAKER_SUBMIT_DIRECTORY must be a local directory, got ${dir}`);
  if (!settings.program) return DEFAULT_PROGRAMS.map((name) => path.join(dir, name)).find((file) => existsSync(file));
  const file = path.resolve(dir, settings.program);
  if (!MODULE_EXTENSIONS.includes(path.extname(file))) {
    throw new HandlerLoadError(`SAGEMAKER_PROGRAM=${settings.program}: handlers are JavaScript modules (${MODULE_EXTENSIONS.join(', ')})`);
  }
  if (!existsSync(file)) throw new HandlerLoadError(`SAGEMAKER_PROGRAM=${settings.program} names ${file}, which does not exist`);
  return file;
}

/** One hook from the module: camelCase or the toolkit's snake_case, not both, and a function. */
function pickHook(sources: readonly Record<string, unknown>[], hook: HookName, file: string): unknown {
  const names = [hook, snakeCaseName(hook)];
  const found = names.filter((name) => sources.some((source) => source[name] !== undefined));
  if (found.length > 1) throw new HandlerLoadError(`${file} exports both ${found.join(' and ')}; keep one`);
  const value = found[0] === undefined ? undefined : sources.map((source) => source[found[0]!]).find((item) => item !== undefined);
  if (value !== undefined && typeof value !== 'function') throw new HandlerLoadError(`${file}: ${found[0]} must be a function`);
  return value;
}

/** Reject combinations that cannot work, at start-up rather than on the first request. */
function validate(handler: InferenceHandler, file: string): void {
  const pipeline = (['inputFn', 'predictFn', 'outputFn'] as const).filter((hook) => handler[hook]);
  if (handler.transformFn && pipeline.length > 0) {
    throw new HandlerLoadError(
      `${file} exports transformFn and ${pipeline.join(', ')}: transformFn replaces them, export one or the other`,
    );
  }
  if (handler.modelFn && !handler.predictFn && !handler.transformFn) {
    throw new HandlerLoadError(
      `${file} exports modelFn but no predictFn or transformFn: the built-in predictFn only runs the built-in model`,
    );
  }
}

/** Loads so far in this process: each gets its own module instance. */
let loads = 0;

/**
 * Import the module (CommonJS or ES module, by Node's own rules) and read its hooks, from
 * named exports or a default-exported object. Every load reads the code afresh: a model
 * reloaded after its code changed runs the new code in every worker, not what an earlier load
 * left in the module caches (a fresh URL for the entry, the CommonJS cache under its folder
 * cleared; an ES module's own imports stay cached by Node).
 */
export async function importHandler(file: string): Promise<InferenceHandler> {
  let namespace: Record<string, unknown>;
  const folder = path.dirname(file) + path.sep;
  for (const cached of Object.keys(require.cache)) if (cached.startsWith(folder)) delete require.cache[cached];
  try {
    namespace = (await import(`${pathToFileURL(file).href}?load=${++loads}`)) as Record<string, unknown>;
  } catch (error) {
    throw new HandlerLoadError(`cannot load handler ${file}: ${(error as Error).message}`, { cause: error });
  }
  const fallback = namespace.default;
  const sources = typeof fallback === 'object' && fallback !== null ? [namespace, fallback as Record<string, unknown>] : [namespace];
  const handler = Object.fromEntries(
    HOOK_NAMES.map((hook) => [hook, pickHook(sources, hook, file)]).filter(([, fn]) => fn),
  ) as InferenceHandler;
  if (Object.keys(handler).length === 0) {
    throw new HandlerLoadError(`${file} exports none of ${HOOK_NAMES.join(', ')} (or their snake_case names)`);
  }
  validate(handler, file);
  return handler;
}

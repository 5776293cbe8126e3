import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import {
  BadRequestError,
  ModelAlreadyLoadedError,
  ModelLoadFailedError,
  ModelLoadingError,
  ModelNameConflictError,
  ModelNotLoadedError,
  publicStartupFailure,
  ShuttingDownError,
  StartupError,
  WorkerLostDuringLoadError,
  WorkersUnavailableError,
} from '../errors';
import type { Logger } from '../logger';
import { materialise, type ArchiveLimits } from '../model/model-dir';
import { checkEstimate, checkLoaded, estimateWorkerBytes } from './memory';
import { inspectModelDir } from './model-tree';
import { checkModelName, resolveInsideRoot } from './names';
import { writeRegistry, type RegistryEntry } from './registry-file';
import { syncWorkers, type SyncOutcome } from './worker-sync';
import type { WorkerModelsReport } from './worker-models';

export interface ModelManagerOptions {
  /** MODEL_SERVER_MODELS_ROOT: every model location must lie inside it. */
  readonly root: string;
  readonly registryFile: string;
  /** Where archives are unpacked (inside serve's run dir, so nothing outlives serve). */
  readonly unpackDir: string;
  readonly workerSockets: readonly string[];
  /** What an archive may unpack to, and in how long (MODEL_SERVER_MAX_MODEL_MB, MODEL_SERVER_LOAD_TIMEOUT). */
  readonly archive: Pick<ArchiveLimits, 'maxBytes' | 'timeoutMs'>;
  /** MODEL_SERVER_MODELS_MEMORY_MB: what all workers together may hold resident. */
  readonly memoryBudgetBytes: number;
  /** How long one worker's load may take (MODEL_SERVER_LOAD_TIMEOUT, plus a margin). */
  readonly workerTimeoutMs: number;
}

interface ManagedModel {
  entry: RegistryEntry;
  /** The real path the url resolved to: what a TargetModel of the same name must resolve to as well. */
  location?: string;
  /** The directory is an archive's unpacked copy, removed on unload. */
  unpacked: boolean;
  ready: boolean;
  /** Resolves when the load is done, either way; `error` says how it failed. */
  done: Promise<void>;
  error?: unknown;
  /** Resident memory the workers grew by while loading it. */
  memoryBytes?: number;
}

export interface ModelDescription {
  readonly modelName: string;
  readonly modelUrl: string;
}

/** A page of GET /models: at most this many models, then a token for the rest. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/**
 * Serve's model manager: the one writer of the model registry. A load reserves its name at
 * once (a second load of it is 409), resolves and checks the location, unpacks an archive
 * off the event loop, judges memory, lists the model in the registry and has every worker
 * load it; it succeeds only when every worker has it. Loads of different models run one
 * after another, so each memory judgement sees the last load.
 */
export class ModelManager {
  private readonly models = new Map<string, ManagedModel>();
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();

  constructor(
    private readonly options: ModelManagerOptions,
    private readonly logger: Logger,
  ) {
    mkdirSync(options.unpackDir, { recursive: true });
    writeRegistry(options.registryFile, []);
  }

  /** POST /models: 409 when the name is loaded or loading. */
  async load(name: unknown, url: unknown): Promise<ModelDescription> {
    const modelName = checkModelName(name);
    if (this.models.has(modelName)) throw new ModelAlreadyLoadedError(modelName);
    return this.startLoad(modelName, url);
  }

  /**
   * Load on first use (local InvokeEndpoint emulation): waits for a load of the same name
   * already under way; 409 when that name was loaded from another location.
   */
  async ensure(name: unknown, url: unknown): Promise<ModelDescription> {
    const modelName = checkModelName(name);
    const existing = this.models.get(modelName);
    if (!existing) return this.startLoad(modelName, url);
    await existing.done;
    if (existing.error !== undefined) throw existing.error;
    if (existing.entry.url === url) return describe(existing);
    const location = await resolveInsideRoot(this.options.root, url).catch(() => undefined);
    if (location === undefined || location !== existing.location) throw new ModelNameConflictError(modelName);
    return describe(existing);
  }

  /** DELETE /models/{name}: answers once every worker has finished the model's running requests and closed it. */
  async unload(name: string): Promise<void> {
    const model = this.models.get(checkModelName(name));
    if (!model) throw new ModelNotLoadedError(name);
    if (!model.ready) throw new ModelLoadingError(name);
    this.models.delete(name);
    // Listed nowhere now: a worker that missed the sync drops it on its next request or start.
    await this.publishAndSync().catch((error: unknown) => {
      if (!(error instanceof WorkersUnavailableError)) throw error;
    });
    if (model.unpacked) await rm(model.entry.dir, { recursive: true, force: true });
    this.logger.info({ model: name }, 'model unloaded');
  }

  get(name: string): ModelDescription & { memoryBytes?: number } {
    const model = this.models.get(checkModelName(name));
    if (!model?.ready) throw new ModelNotLoadedError(name);
    return { ...describe(model), ...(model.memoryBytes === undefined ? {} : { memoryBytes: model.memoryBytes }) };
  }

  /** GET /models: loaded models by name, `pageSize` at a time; the token is the last name of the page. */
  list(token: unknown, pageSize: unknown): { models: ModelDescription[]; nextPageToken?: string } {
    const size = pageSize === undefined ? DEFAULT_PAGE_SIZE : Number(pageSize);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new BadRequestError(`page_size must be an integer from 1 to ${MAX_PAGE_SIZE}`, 'invalid_page_size');
    }
    const after = token === undefined ? '' : decodeToken(token);
    const names = [...this.models.values()]
      .filter((model) => model.ready && model.entry.name > after)
      .map((model) => model.entry.name)
      .sort();
    const page = names.slice(0, size);
    const models = page.map((name) => describe(this.models.get(name)!));
    return names.length > size ? { models, nextPageToken: Buffer.from(page.at(-1)!).toString('base64url') } : { models };
  }

  /** serve is stopping: end the unpack under way and refuse loads from now on. */
  shutDown(): void {
    this.stopping.abort();
  }

  /** At shutdown: the archives this manager unpacked. */
  private startLoad(name: string, url: unknown): Promise<ModelDescription> {
    if (this.stopping.signal.aborted) return Promise.reject(new ShuttingDownError());
    const model: ManagedModel = {
      // Any JSON value may arrive here; resolveInsideRoot refuses what is not a string.
      entry: { name, url: typeof url === 'string' ? url : '', dir: '', generation: ++this.generation },
      unpacked: false,
      ready: false,
      done: Promise.resolve(),
    };
    const run = this.queue.then(() => this.loadNow(model, url));
    // The caller awaits `run`; `done` never rejects, for the queue and for first uses waiting on it.
    model.done = run.then(
      () => undefined,
      (error: unknown) => {
        model.error = error;
      },
    );
    this.queue = model.done;
    // The name is reserved from here: before anything is awaited.
    this.models.set(name, model);
    return run;
  }

  private async loadNow(model: ManagedModel, url: unknown): Promise<ModelDescription> {
    const { name } = model.entry;
    const started = performance.now();
    try {
      if (this.stopping.signal.aborted) throw new ShuttingDownError();
      const location = await resolveInsideRoot(this.options.root, url);
      model.location = location;
      const dir = await this.asLoadFailure(() =>
        materialise(location, { ...this.options.archive, signal: this.stopping.signal, parentDir: this.options.unpackDir }),
      );
      model.unpacked = dir !== location;
      model.entry = { ...model.entry, dir };
      if (this.stopping.signal.aborted) throw new ShuttingDownError();
      const inspected = await this.asLoadFailure(() => inspectModelDir(dir, model.unpacked ? dir : this.options.root));
      await this.checkMemory(name, estimateWorkerBytes(inspected));
      const reports = await this.untilStopped(this.publishAndSync(name));
      const failure = reports.map((report) => report.models[name]).find((state) => state?.status === 'failed');
      if (failure?.status === 'failed') throw new ModelLoadFailedError(failure.failure);
      model.memoryBytes = reports.reduce((sum, report) => {
        const state = report.models[name];
        return sum + (state?.status === 'ready' ? state.rssGrowthBytes : 0);
      }, 0);
      checkLoaded(name, model.memoryBytes, heldBytes(reports), this.options.memoryBudgetBytes);
      model.ready = true;
      const ms = Math.round(performance.now() - started);
      this.logger.info({ model: name, workers: reports.length, ms, memoryBytes: model.memoryBytes }, 'model loaded');
      return describe(model);
    } catch (error) {
      this.models.delete(name);
      this.publish();
      // Stopping: the workers are about to stop too, and nginx's drain waits for this answer.
      if (!this.stopping.signal.aborted) await this.sync().catch(() => undefined);
      if (model.unpacked) await rm(model.entry.dir, { recursive: true, force: true });
      this.logger.warn({ model: name, err: error }, 'model load refused');
      throw this.stopping.signal.aborted ? new ShuttingDownError() : error;
    }
  }

  /** `work`, unless serve starts stopping first: then 503 at once, so nginx's drain is not held by a load. */
  private untilStopped<T>(work: Promise<T>): Promise<T> {
    const { signal } = this.stopping;
    if (signal.aborted) return Promise.reject(new ShuttingDownError());
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new ShuttingDownError());
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** A model directory this product cannot use is the client's 4xx (or 404), with the public reason. */
  private async asLoadFailure<T>(step: () => Promise<T>): Promise<T> {
    return step().catch((error: unknown) => {
      throw error instanceof StartupError ? new ModelLoadFailedError(publicStartupFailure(error, 'model_invalid')) : error;
    });
  }

  private async checkMemory(name: string, perWorker: number): Promise<void> {
    const reports = available(await this.sync());
    const workers = this.options.workerSockets.length;
    checkEstimate(name, perWorker * workers, heldBytes(reports), this.options.memoryBudgetBytes, workers);
  }

  /**
   * Write the registry, then have every worker load and unload to match it. With `loading`,
   * every worker must answer: one that exits during the sync fails the load, and one still
   * starting is waited for (it reads the registry when it is up). Otherwise the answers of
   * those that answered (a restarting worker reads the registry itself when it is back).
   */
  private async publishAndSync(loading?: string): Promise<WorkerModelsReport[]> {
    this.publish();
    // The first worker lost unlists the model at once, so pm2's restart of it does not load it again.
    const outcomes = await this.sync(loading !== undefined, () => this.publish(loading));
    if (loading !== undefined && outcomes.some((outcome) => outcome.kind === 'lost')) throw new WorkerLostDuringLoadError(loading);
    if (loading !== undefined && outcomes.some((outcome) => outcome.kind !== 'report')) throw new WorkersUnavailableError();
    return available(outcomes);
  }

  private publish(without?: string): void {
    const entries = [...this.models.values()].filter((model) => model.entry.dir && model.entry.name !== without);
    writeRegistry(
      this.options.registryFile,
      entries.map((model) => model.entry),
    );
  }

  private sync(waitForEvery = false, onLost?: () => void): Promise<SyncOutcome[]> {
    const options = { timeoutMs: this.options.workerTimeoutMs, waitForEvery, ...(onLost ? { onLost } : {}) };
    return syncWorkers(this.options.workerSockets, options, this.logger);
  }
}

/** The reports of the workers that answered; 503 when none did. */
const heldBytes = (reports: readonly WorkerModelsReport[]) => reports.reduce((sum, report) => sum + report.rssBytes, 0);

function available(outcomes: readonly SyncOutcome[]): WorkerModelsReport[] {
  const reports = outcomes.flatMap((outcome) => (outcome.kind === 'report' ? [outcome.report] : []));
  if (reports.length === 0) throw new WorkersUnavailableError();
  return reports;
}

function describe(model: ManagedModel): ModelDescription {
  return { modelName: model.entry.name, modelUrl: model.entry.url };
}

function decodeToken(token: unknown): string {
  if (typeof token !== 'string' || token.length > 400) throw new BadRequestError('next_page_token is invalid', 'invalid_page_token');
  return Buffer.from(token, 'base64url').toString('utf8');
}

import { ModelLoadFailedError, ModelLoadingError, ModelNotLoadedError, publicStartupFailure, type StartupFailure } from '../errors';
import type { HandlerPipeline, HeldPipeline } from '../handler/pipeline';
import type { Logger } from '../logger';
import { RegistryView, type RegistryEntry } from './registry-file';

/**
 * One worker's loaded models, kept equal to the registry file: a model listed there is
 * loaded here (at start, on serve's sync call, or when an invocation finds it missing), one
 * gone or replaced there is closed here once its last request has finished. Loads run one at
 * a time, so a restarted worker with many models does not hold all their load peaks at once.
 */

interface LocalModel {
  readonly entry: RegistryEntry;
  loaded: Promise<void>;
  pipeline?: HandlerPipeline;
  failure?: StartupFailure;
  /** Resident memory this worker grew by while loading it. */
  rssGrowthBytes?: number;
  active: number;
  retired: boolean;
  /** Resolves once a retired model is closed (its last request finished). */
  readonly closed: Promise<void>;
  markClosed(): void;
}

export type ModelReport =
  | { readonly generation: number; readonly status: 'ready'; readonly rssGrowthBytes: number }
  | { readonly generation: number; readonly status: 'failed'; readonly failure: StartupFailure };

/** What serve's manager learns from a sync: every model's state here, and this worker's memory. */
export interface WorkerModelsReport {
  readonly rssBytes: number;
  readonly models: Record<string, ModelReport>;
}

export class WorkerModels {
  private readonly local = new Map<string, LocalModel>();
  /** Retired models not closed yet: running requests still hold them. */
  private readonly closing = new Set<Promise<void>>();
  private readonly view: RegistryView;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    registryFile: string,
    private readonly loadPipeline: (dir: string) => Promise<HandlerPipeline>,
    private readonly logger: Logger,
  ) {
    this.view = new RegistryView(registryFile);
  }

  get count(): number {
    return this.local.size;
  }

  /** Start loading what the registry lists and this worker lacks; retire what it no longer lists. */
  sync(): void {
    const wanted = this.view.current();
    for (const [name, model] of this.local) {
      if (wanted.get(name)?.generation !== model.entry.generation) this.retire(name, model);
    }
    for (const entry of wanted.values()) if (!this.local.has(entry.name)) this.start(entry);
  }

  /** The location the registry gives `name` (what its load named), if it lists it. */
  urlOf(name: string): string | undefined {
    this.sync();
    return this.local.get(name)?.entry.url;
  }

  /** The model for one invocation: 404 if not loaded anywhere, 503 while it loads here. */
  acquire(name: string): HeldPipeline {
    this.sync();
    const model = this.local.get(name);
    if (!model) throw new ModelNotLoadedError(name);
    if (model.failure) throw new ModelLoadFailedError(model.failure);
    const pipeline = model.pipeline;
    if (!pipeline) throw new ModelLoadingError(name);
    model.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      model.active--;
      if (model.retired && model.active === 0) this.close(name, model);
    };
    return { pipeline, release };
  }

  /** Resolves once `name` has finished loading here (or failed); 404 if the registry does not list it. */
  async loaded(name: string): Promise<void> {
    this.sync();
    const model = this.local.get(name);
    if (!model) throw new ModelNotLoadedError(name);
    await model.loaded;
  }

  /**
   * Sync, wait for every load this started and for every retired model's running requests
   * to finish (so serve removes an unloaded model's files only afterwards), and report.
   */
  async report(): Promise<WorkerModelsReport> {
    this.sync();
    await Promise.all([...[...this.local.values()].map((model) => model.loaded), ...this.closing]);
    const models: Record<string, ModelReport> = {};
    for (const [name, { entry, failure, rssGrowthBytes }] of this.local) {
      models[name] = failure
        ? { generation: entry.generation, status: 'failed', failure }
        : { generation: entry.generation, status: 'ready', rssGrowthBytes: rssGrowthBytes ?? 0 };
    }
    return { rssBytes: process.memoryUsage.rss(), models };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.local.values()].map((model) => model.loaded.then(() => model.pipeline?.close())));
  }

  private start(entry: RegistryEntry): void {
    let markClosed = () => {};
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const model: LocalModel = { entry, loaded: Promise.resolve(), active: 0, retired: false, closed, markClosed };
    const load = async () => {
      if (model.retired) return;
      const before = process.memoryUsage.rss();
      const started = performance.now();
      try {
        const pipeline = await this.loadPipeline(entry.dir);
        model.rssGrowthBytes = Math.max(0, process.memoryUsage.rss() - before);
        if (model.retired) return void (await pipeline.close());
        model.pipeline = pipeline;
        const ms = Math.round(performance.now() - started);
        this.logger.info({ model: entry.name, generation: entry.generation, ms, rssGrowthBytes: model.rssGrowthBytes }, 'model loaded');
      } catch (error) {
        model.failure = publicStartupFailure(error, 'model_load_failed');
        this.logger.error({ model: entry.name, ...model.failure, err: error }, 'model failed to load');
      }
    };
    model.loaded = this.queue.then(load);
    this.queue = model.loaded;
    this.local.set(entry.name, model);
  }

  private retire(name: string, model: LocalModel): void {
    this.local.delete(name);
    model.retired = true;
    this.closing.add(model.closed);
    void model.closed.then(() => this.closing.delete(model.closed));
    if (model.active === 0) this.close(name, model);
  }

  private close(name: string, model: LocalModel): void {
    void model.loaded
      .then(() => model.pipeline?.close())
      .then(
        () => this.logger.info({ model: name, generation: model.entry.generation }, 'model unloaded'),
        (error: unknown) => this.logger.error({ model: name, err: error }, 'closing an unloaded model failed'),
      )
      .finally(() => model.markClosed());
  }
}

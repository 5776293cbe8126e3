import type { StartupFailure } from '../errors';
import type { HandlerPipeline } from '../handler/pipeline';

/** What /ping reports: the model is loading, ready, or failed to load (and never will be). */
export class ModelState {
  pipeline: HandlerPipeline | undefined;
  failure: StartupFailure | undefined;

  ready(pipeline: HandlerPipeline): void {
    this.pipeline = pipeline;
  }

  fail(failure: StartupFailure): void {
    this.failure = failure;
  }

  get status(): 'ready' | 'loading' | 'failed' {
    if (this.pipeline) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }
}

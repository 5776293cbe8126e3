import type { Predictor } from '../predictor';

/** What /ping reports: the model is loading, ready, or failed to load (and never will be). */
export class ModelState {
  predictor: Predictor | undefined;
  failure: string | undefined;

  ready(predictor: Predictor): void {
    this.predictor = predictor;
  }

  fail(reason: string): void {
    this.failure = reason;
  }

  get status(): 'ready' | 'loading' | 'failed' {
    if (this.predictor) return 'ready';
    return this.failure ? 'failed' : 'loading';
  }
}

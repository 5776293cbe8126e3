import type { Response } from 'express';
import { OverloadedError } from '../errors';

/** Told when a slot is taken and when it is freed (the worker's idle memory trim). */
export interface WorkObserver {
  requestStarted(): void;
  requestEnded(): void;
}

/**
 * A bounded number of invocations per worker. Past it, a request is refused at once with
 * 503 + Retry-After (before its body is read), so overload turns into fast, honest errors
 * instead of a queue whose latency grows until every client times out.
 *
 * A slot is the work, not the response: it is held until the request's work has settled,
 * also after a timeout (504) or a client that left, so MODEL_SERVER_MAX_QUEUE bounds what a
 * worker is really doing. Cancellation makes that short for the built-in pipeline.
 */
export class Admission {
  private inProgress = 0;

  constructor(
    private readonly limit: number,
    private readonly observer?: WorkObserver,
  ) {}

  get count(): number {
    return this.inProgress;
  }

  /**
   * Take a slot: freed when the response closes, or later if work was attached with
   * holdUntil; `onFree` runs then too (the request's hold on its model ends with its work).
   */
  admit(res: Response, onFree: () => void = () => undefined): Slot {
    if (this.inProgress >= this.limit) throw new OverloadedError(this.limit);
    this.inProgress++;
    this.observer?.requestStarted();
    const slot = new Slot(() => {
      this.inProgress--;
      this.observer?.requestEnded();
      onFree();
    });
    res.once('close', () => slot.responseClosed());
    return slot;
  }
}

export class Slot {
  private work: Promise<unknown> | undefined;
  private released = false;

  constructor(private readonly free: () => void) {}

  /** Keep the slot until `work` settles, however the response ends. */
  holdUntil(work: Promise<unknown>): void {
    this.work = work;
    const release = () => this.release();
    work.then(release, release);
  }

  responseClosed(): void {
    if (!this.work) this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.free();
  }
}

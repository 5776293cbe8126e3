import type { Response } from 'express';
import { OverloadedError } from '../errors';

/**
 * A bounded number of invocations per worker. Past it, a request is refused at once with
 * 503 + Retry-After (before its body is read), so overload turns into fast, honest errors
 * instead of a queue whose latency grows until every client times out.
 */
export class Admission {
  private inProgress = 0;

  constructor(private readonly limit: number) {}

  get count(): number {
    return this.inProgress;
  }

  /** Take a slot until the response is finished or the connection closes. */
  admit(res: Response): void {
    if (this.inProgress >= this.limit) throw new OverloadedError(this.limit);
    this.inProgress++;
    res.once('close', () => this.inProgress--);
  }
}

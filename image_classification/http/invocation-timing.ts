import type { Request, RequestHandler, Response } from 'express';
import { mediaTypeOf, SUPPORTED_CONTENT_TYPES } from '../codecs/content-types';
import { JSON_LINES_TYPES } from '../codecs/records';
import type { WorkerMetrics } from '../metrics/worker-metrics';
import { StageTimes } from '../stage-timing';

interface TimingLocals {
  timing: InvocationTiming;
}

/** One invocation's clock: when it arrived, when its body started to be read, its stages. */
export class InvocationTiming {
  readonly stages = new StageTimes();
  private readonly arrived = performance.now();
  private bodyReadStarted: number | undefined;

  startBodyRead(): void {
    this.bodyReadStarted = performance.now();
  }

  endBodyRead(): void {
    if (this.bodyReadStarted !== undefined) this.stages.add('body_read', (performance.now() - this.bodyReadStarted) / 1000);
  }

  get seconds(): number {
    return (performance.now() - this.arrived) / 1000;
  }

  /** `Server-Timing: preprocess;dur=8.1, …, total;dur=31.5` (milliseconds, as the header wants). */
  header(): string {
    const entries = [...this.stages.entries(), ['total', this.seconds] as const];
    return entries.map(([name, seconds]) => `${name};dur=${(seconds * 1000).toFixed(1)}`).join(', ');
  }

  static of(res: Response): InvocationTiming | undefined {
    return (res.locals as Partial<TimingLocals>).timing;
  }
}

const IMAGE_SUBTYPE = /^image\/(jpeg|png|webp|gif|tiff|avif|heif|heic|bmp|svg\+xml)$/;
const KNOWN_TYPES = new Set<string>([...SUPPORTED_CONTENT_TYPES, ...JSON_LINES_TYPES]);

/**
 * The request's media type as a metric label: a client chooses its Content-Type, so anything
 * outside the known types is `other` (a label per distinct header would grow without bound).
 */
function contentTypeLabel(req: Request): string {
  try {
    const type = mediaTypeOf(req.get('content-type'));
    if (type === undefined) return 'none';
    return KNOWN_TYPES.has(type) || IMAGE_SUBTYPE.test(type) ? type : 'other';
  } catch {
    return 'invalid';
  }
}

/**
 * First on the invocation routes: starts the request's clock and, when it ends, counts it by
 * status (499: the client left before its answer) and media type, with its duration and stages.
 */
export function invocationTiming(metrics: WorkerMetrics | undefined): RequestHandler {
  return (req, res, next) => {
    const timing = new InvocationTiming();
    (res.locals as TimingLocals).timing = timing;
    if (metrics) {
      res.once('close', () => {
        const status = res.writableFinished ? res.statusCode : 499;
        metrics.invocation(status, contentTypeLabel(req), timing.seconds, timing.stages);
      });
    }
    next();
  };
}

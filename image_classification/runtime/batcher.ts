import type { ExecutionProvider } from './session';

/**
 * Dynamic batching: requests that arrive while the inference thread is busy are gathered
 * into its next run, up to `maxBatchSize` images. A lone request goes straight through: the
 * batcher waits (up to `maxDelayMs`) only when the thread is idle and more images are known
 * to be on their way (still being decoded), so batching never adds latency to an idle server.
 */

export interface BatchingOptions {
  /** Unset: DEFAULT_MAX_BATCH for the session's execution provider. */
  readonly maxBatchSize?: number;
  readonly maxDelayMs: number;
}

/**
 * On the CPU provider a batch is barely faster per image than single images, and larger batches
 * grow ONNX Runtime's arena (docs/performance.md has `npm run bench`'s figures). GPUs gain.
 */
export const DEFAULT_MAX_BATCH: Record<ExecutionProvider, number> = { cpu: 1, cuda: 8 };

/** Runs one batch: the parts are concatenated along the batch axis; one output row per image. */
export type RunBatch = (parts: Float32Array[], count: number) => Promise<BatchRun>;

export interface BatchRun {
  readonly rows: Float32Array[];
  /** The inference itself, without waiting for the thread. */
  readonly runSeconds: number;
}

/** A job's rows, and how long it waited (in the batcher and for the thread) and ran. */
export interface JobResult {
  readonly rows: Float32Array[];
  readonly queueSeconds: number;
  readonly runSeconds: number;
}

export interface Arrival {
  submit(input: Float32Array, signal?: AbortSignal): Promise<JobResult>;
  cancel(): void;
}

interface Job {
  readonly input: Float32Array;
  readonly count: number;
  readonly submitted: number;
  readonly resolve: (result: JobResult) => void;
  readonly reject: (error: unknown) => void;
  /** Stops listening for an abort once the job has left the queue. */
  readonly settle: () => void;
}

export class DynamicBatcher {
  private readonly queue: Job[] = [];
  private queuedImages = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** Images being decoded that will be submitted soon. */
  private incoming = 0;

  constructor(
    private readonly runBatch: RunBatch,
    private readonly options: Required<BatchingOptions>,
  ) {}

  /**
   * Announce images that are being preprocessed, so an idle batcher may wait for them.
   * Submit them through the returned handle, or cancel it if their decoding failed.
   */
  expect(count: number): Arrival {
    this.incoming += count;
    let announced = true;
    const arrived = () => {
      if (announced) this.incoming -= count;
      announced = false;
    };
    return {
      submit: (input, signal) => {
        arrived();
        return this.submit(input, count, signal);
      },
      cancel: () => {
        arrived();
        this.dispatchIfReady();
      },
    };
  }

  /**
   * Scores for `count` images in `input` (the buffer is handed over: do not reuse it). No run
   * holds more than maxBatchSize images, so a caller splits larger requests: that bounds the
   * memory and time of every run, whatever a request holds. A job still queued when `signal`
   * aborts leaves the queue and rejects with the signal's reason; a running one finishes.
   */
  submit(input: Float32Array, count: number, signal?: AbortSignal): Promise<JobResult> {
    if (count > this.options.maxBatchSize)
      throw new RangeError(`a job of ${count} images exceeds the batch size ${this.options.maxBatchSize}`);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        this.dispatchIfReady();
        return;
      }
      const withdraw = () => {
        const index = this.queue.indexOf(job);
        if (index < 0) return;
        this.queue.splice(index, 1);
        this.queuedImages -= count;
        reject(signal!.reason);
        this.dispatchIfReady();
      };
      const settle = () => signal?.removeEventListener('abort', withdraw);
      const job: Job = { input, count, submitted: performance.now(), resolve, reject, settle };
      signal?.addEventListener('abort', withdraw, { once: true });
      this.queue.push(job);
      this.queuedImages += count;
      this.dispatchIfReady();
    });
  }

  private dispatchIfReady(): void {
    if (this.running || this.queue.length === 0) return;
    const full = this.queuedImages >= this.options.maxBatchSize;
    if (full || this.incoming === 0 || this.options.maxDelayMs === 0) {
      this.dispatch();
      return;
    }
    this.timer ??= setTimeout(() => this.dispatch(), this.options.maxDelayMs);
  }

  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    // Whole jobs only, each at most the batch size (submit refuses larger ones).
    const jobs: Job[] = [this.queue.shift()!];
    let images = jobs[0]!.count;
    while (this.queue.length > 0 && images + this.queue[0]!.count <= this.options.maxBatchSize) {
      const job = this.queue.shift()!;
      jobs.push(job);
      images += job.count;
    }
    this.queuedImages -= images;
    for (const job of jobs) job.settle();
    this.running = true;
    this.runBatch(
      jobs.map((job) => job.input),
      images,
    )
      .then(
        ({ rows, runSeconds }) => {
          const done = performance.now();
          let offset = 0;
          for (const job of jobs) {
            const queueSeconds = Math.max(0, (done - job.submitted) / 1000 - runSeconds);
            job.resolve({ rows: rows.slice(offset, offset + job.count), queueSeconds, runSeconds });
            offset += job.count;
          }
        },
        (error: unknown) => jobs.forEach((job) => job.reject(error)),
      )
      .finally(() => {
        this.running = false;
        this.dispatchIfReady();
      });
  }
}

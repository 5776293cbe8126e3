import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NdArray } from '../codecs/ndarray';
import { ModelLoadError } from '../errors';
import {
  feedArrays,
  transferList,
  type Feeds,
  type RunReply,
  type RunRequest,
  type ThreadInit,
  type ThreadReady,
} from './inference-protocol';
import type { ExecutionProvider, ModelGraphs, SessionOptions } from './session';
import { keepOrtTelemetryOff } from './ort-telemetry';
import { TensorPool } from './tensor-pool';

export interface TimedRun {
  readonly outputs: Record<string, NdArray>;
  /** ONNX Runtime's run alone; the rest of the wait was the thread's queue and the hop. */
  readonly runSeconds: number;
}

/** Enough for one part running, one queued and two decoding (libuv's pool in a worker is 2). */
export const DEFAULT_TENSOR_SLOTS = 4;

/** The event-loop side of an inference thread: a session whose run() never blocks the caller. */
export class InferenceClient {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (run: TimedRun) => void; reject: (error: Error) => void }>();
  private dead: Error | undefined;
  private closing = false;
  /** Input buffers the thread handed back; `tensorBuffer()` takes from here. */
  private pool: TensorPool;

  private constructor(
    private readonly thread: Worker,
    readonly provider: ExecutionProvider,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    onFailure: (error: Error) => void,
  ) {
    this.pool = new TensorPool(DEFAULT_TENSOR_SLOTS);
    thread.on('message', (reply: RunReply) => {
      for (const buffer of reply.returned) this.pool.give(buffer);
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('outputs' in reply) waiter?.resolve({ outputs: reply.outputs, runSeconds: reply.runSeconds });
      else waiter?.reject(new Error(`inference failed: ${reply.error}`));
    });
    const fail = (error: Error) => {
      if (this.closing) return;
      this.dead = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      onFailure(error);
    };
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`the inference thread exited (code ${code})`)));
  }

  /** `onFailure` is told if the thread dies later: the session is gone, so the owner should stop. */
  static async start(
    graphs: string | ModelGraphs,
    options: SessionOptions,
    logLevel: string,
    onFailure: (error: Error) => void = () => undefined,
  ): Promise<InferenceClient> {
    const workerData: ThreadInit = { graphs, options, logLevel };
    keepOrtTelemetryOff();
    const thread = new Worker(path.join(__dirname, 'inference-thread.js'), { workerData });
    const ready = await new Promise<ThreadReady>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
    });
    if (ready.type === 'failed') {
      await thread.terminate();
      throw new ModelLoadError(ready.message);
    }
    return new InferenceClient(thread, ready.provider, ready.inputNames, ready.outputNames, onFailure);
  }

  /**
   * A float32 buffer for a batched feed's part, once one of the slots is free: write an input
   * into it and pass it to run(), which hands it to the thread and, after the run, back here.
   */
  tensorBuffer(length: number, signal?: AbortSignal): Promise<Float32Array> {
    return this.pool.take(length, signal);
  }

  /** Whether tensorBuffer() would wait for a buffer to come back. */
  get tensorBuffersFull(): boolean {
    return this.pool.full;
  }

  /** How many tensorBuffer() buffers may be out at once (set before the first is taken). */
  set tensorSlots(slots: number) {
    this.pool = new TensorPool(slots);
  }

  /** A buffer from tensorBuffer() that was not run (its inputs failed, or it left the queue); a sent one is ignored. */
  returnBuffer(buffer: Float32Array): void {
    this.pool.give(buffer);
  }

  /** Run the graph once; the feeds' buffers are transferred to the thread (do not reuse them). */
  async run(feeds: Feeds, outputNames: readonly string[] = this.outputNames): Promise<Record<string, NdArray>> {
    return (await this.runTimed(feeds, outputNames)).outputs;
  }

  /** As run(), with the time ONNX Runtime itself took. */
  runTimed(feeds: Feeds, outputNames: readonly string[] = this.outputNames): Promise<TimedRun> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: RunRequest = { id, feeds, outputNames };
      this.thread.postMessage(request, transferList(feedArrays(feeds)));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.thread.terminate();
  }
}

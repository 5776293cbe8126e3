import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where an invocation's time goes, as the metrics and the Server-Timing header report it:
 * - `body_read`: the worker reading the body from nginx (nginx already holds all of it);
 * - `preprocess`: inputFn, and for the built-in model image decode, resize and normalise;
 * - `queue`: waiting for the inference thread (a free input buffer, the batcher, the thread's queue, the hop);
 * - `inference`: ONNX Runtime's run, or a custom predictFn;
 * - `encode`: outputFn;
 * - `handler`: a custom transformFn, which does all of the above in one hook.
 * A multi-part request decodes its next part while the previous one runs, so its stages can
 * add up to more than its total.
 */
export const STAGES = ['body_read', 'preprocess', 'queue', 'inference', 'encode', 'handler'] as const;
export type Stage = (typeof STAGES)[number];

export class StageTimes {
  private readonly seconds = new Map<Stage, number>();

  add(stage: Stage, seconds: number): void {
    this.seconds.set(stage, (this.seconds.get(stage) ?? 0) + seconds);
  }

  /** The stages that took place, in STAGES order. */
  entries(): [Stage, number][] {
    return STAGES.flatMap((stage): [Stage, number][] => {
      const value = this.seconds.get(stage);
      return value === undefined ? [] : [[stage, value]];
    });
  }
}

/**
 * The request being served, for code that several requests share (the batcher runs one batch
 * for many): each records into the times of the request whose await it continues.
 */
const current = new AsyncLocalStorage<StageTimes>();

export function withStageTimes<T>(times: StageTimes, work: () => T): T {
  return current.run(times, work);
}

export function recordStage(stage: Stage, seconds: number): void {
  current.getStore()?.add(stage, seconds);
}

/** Time `work` as `stage` of the current request (also when it fails). */
export async function timeStage<T>(stage: Stage, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    recordStage(stage, (performance.now() - started) / 1000);
  }
}

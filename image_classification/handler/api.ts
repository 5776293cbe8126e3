import type { IncomingHttpHeaders } from 'node:http';

/**
 * The contract for a user handler module (`code/inference.js` in the model dir), the
 * JavaScript form of the SageMaker Inference Toolkit's inference.py. Every hook is optional
 * and may be async; missing ones fall back to the built-in image classifier. `transformFn`
 * replaces input → predict → output and cannot be combined with them.
 */

/** Per-request context: each request carries its own, also when requests share a batch. */
export interface RequestContext {
  /** x-amzn-RequestId / x-request-id as sent, else a generated UUID (echoed in the response). */
  readonly requestId: string;
  /** Every request header, lower-cased names. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** `X-Amzn-SageMaker-Custom-Attributes`, if the caller sent it. */
  readonly customAttributes: string | undefined;
  /** The model directory the model was loaded from. */
  readonly modelDir: string;
  /** Set a header on this request's response, e.g. to echo Custom-Attributes back (value at most 4 kB). */
  setResponseHeader(name: string, value: string): void;
  /**
   * Aborted when the request times out (SAGEMAKER_MODEL_SERVER_TIMEOUT) or its client goes
   * away: long hooks should stop (e.g. `signal.throwIfAborted()` between steps). The request's
   * admission slot stays taken until its hooks have settled, so work that ignores it still counts.
   */
  readonly signal: AbortSignal;
}

/** What outputFn / transformFn return: a body, or a body with its own Content-Type. */
export type ResponseBody = string | Uint8Array;
export type OutputResult = ResponseBody | { readonly body: ResponseBody; readonly contentType: string };

type MaybePromise<T> = T | Promise<T>;

export interface InferenceHandler<Model = unknown, Input = unknown, Prediction = unknown> {
  /** Load the model once per worker, at start-up. Default: model.onnx + labels.json + preprocessing.json. */
  modelFn?(modelDir: string): MaybePromise<Model>;
  /** Run once after modelFn, before /ping turns 200 (compile, allocate, fill caches). */
  warmupFn?(model: Model): MaybePromise<void>;
  /** Request body → model input. `contentType` is the bare, lower-cased media type. */
  inputFn?(body: Buffer, contentType: string, ctx: RequestContext): MaybePromise<Input>;
  predictFn?(input: Input, model: Model, ctx: RequestContext): MaybePromise<Prediction>;
  /** Prediction → response body. `accept` is the Accept header, or the default accept if none or `*\/*`. */
  outputFn?(prediction: Prediction, accept: string, ctx: RequestContext): MaybePromise<OutputResult>;
  /** The whole request in one hook, instead of input/predict/output. */
  transformFn?(model: Model, body: Buffer, contentType: string, accept: string, ctx: RequestContext): MaybePromise<OutputResult>;
}

export const HOOK_NAMES = ['modelFn', 'warmupFn', 'inputFn', 'predictFn', 'outputFn', 'transformFn'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** `model_fn` → `modelFn`: the toolkit's Python names are accepted as they are. */
export function snakeCaseName(hook: HookName): string {
  return hook.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

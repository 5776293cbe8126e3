import os from 'node:os';
import type { NdArray } from '../codecs/ndarray';
import type { Feeds } from './inference-protocol';
import { InferenceClient } from './inference-client';
import type { ExecutionProvider, SessionOptions } from './session';

/** An ONNX model for handler authors, run off the event loop exactly as the built-in one is. */
export interface OnnxModel {
  readonly provider: ExecutionProvider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The feeds' buffers are transferred to the inference thread: do not reuse them. */
  run(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, NdArray>>;
  close(): Promise<void>;
}

/** What a worker gives every handler model: its session settings and its failure policy. */
export interface OnnxModelDefaults {
  readonly session: SessionOptions;
  readonly logLevel: string;
  /** The model's inference thread died after loading. */
  readonly onFailure?: (error: Error) => void;
}

/** Outside a worker (scripts, tests): auto device, up to 2 threads, failures only reject runs. */
let defaults: OnnxModelDefaults = { session: { device: 'auto', intraOpThreads: Math.min(2, os.availableParallelism()) }, logLevel: 'warn' };

/**
 * Set once by the worker (the composition root): handler models then run with the server's
 * INFERENCE_DEVICE and ORT settings, and a dead inference thread exits the worker for pm2 to
 * replace, as the built-in model's does, instead of failing every request while /ping says 200.
 */
export function configureOnnxModels(next: OnnxModelDefaults): void {
  defaults = next;
}

/** Load an ONNX file on its own inference thread, with the worker's settings unless `options` says otherwise. */
export async function loadOnnxModel(onnxPath: string, options: Partial<SessionOptions> = {}): Promise<OnnxModel> {
  return InferenceClient.start(onnxPath, { ...defaults.session, ...options }, defaults.logLevel, defaults.onFailure);
}

import { loadConfig } from '../config';
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

/**
 * Load an ONNX file on its own inference thread, with the server's INFERENCE_DEVICE and
 * ORT_INTRA_OP_THREADS unless `options` says otherwise.
 */
export async function loadOnnxModel(onnxPath: string, options: Partial<SessionOptions> = {}): Promise<OnnxModel> {
  const config = loadConfig();
  const sessionOptions: SessionOptions = {
    device: options.device ?? config.inferenceDevice,
    intraOpThreads: options.intraOpThreads ?? config.ortIntraOpThreads,
    allowSpinning: options.allowSpinning ?? config.ortAllowSpinning,
  };
  return InferenceClient.start(onnxPath, sessionOptions, config.logLevel);
}

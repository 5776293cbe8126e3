import type { ExecutionProvider, SessionOptions } from './session';

/** Messages between a worker's event loop and its inference thread. */

export interface ThreadInit {
  readonly onnxPath: string;
  readonly options: SessionOptions;
  readonly logLevel: string;
}

export type ThreadReady = { type: 'ready'; provider: ExecutionProvider; inputNames: string[]; outputNames: string[] } | { type: 'failed'; message: string };

export interface RunRequest {
  readonly id: number;
  readonly input: Float32Array;
  readonly dims: readonly number[];
  readonly inputName: string;
  readonly outputName: string;
}

export type RunReply = { id: number; output: Float32Array } | { id: number; error: string };

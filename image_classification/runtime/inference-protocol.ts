import type { NdArray } from '../codecs/ndarray';
import type { ExecutionProvider, ModelGraphs, SessionOptions } from './session';

/** Messages between a worker's event loop and its inference thread. */

export interface ThreadInit {
  readonly graphs: string | ModelGraphs;
  readonly options: SessionOptions;
  readonly logLevel: string;
}

export type ThreadReady =
  { type: 'ready'; provider: ExecutionProvider; inputNames: string[]; outputNames: string[] } | { type: 'failed'; message: string };

/** A float32 input sent in pieces (one per request of a batch), joined along axis 0 in the thread. */
export interface BatchedFeed {
  readonly shape: readonly number[];
  readonly parts: readonly Float32Array[];
}

export type Feeds = Readonly<Record<string, NdArray | BatchedFeed>>;

/** The typed arrays a feed holds, for the transfer list. */
export function feedArrays(feeds: Feeds): NdArray['data'][] {
  return Object.values(feeds).flatMap((feed): NdArray['data'][] => ('parts' in feed ? [...feed.parts] : [feed.data]));
}

export interface RunRequest {
  readonly id: number;
  readonly feeds: Feeds;
  readonly outputNames: readonly string[];
}

/**
 * `runSeconds`: ONNX Runtime's run alone, without the time the request waited for the thread.
 * `returned`: the batched feeds' parts, handed back for the next images (TensorPool).
 */
export type RunReply =
  | { id: number; outputs: Record<string, NdArray>; runSeconds: number; returned: Float32Array[] }
  | { id: number; error: string; returned: Float32Array[] };

/**
 * The buffers to transfer (not copy) with a message, each once. Only arrays that own their
 * whole buffer move; a view into a shared one (Node's Buffer pool) is copied instead.
 */
export function transferList(arrays: Iterable<NdArray['data']>): ArrayBuffer[] {
  const owned = [...arrays].filter((data) => data.byteOffset === 0 && data.byteLength === data.buffer.byteLength);
  return [...new Set(owned.map((data) => data.buffer as ArrayBuffer))];
}

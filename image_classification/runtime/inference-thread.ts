import { parentPort, workerData } from 'node:worker_threads';
import { ort } from './onnxruntime';
import type { DType, NdArray, TypedArray } from '../codecs/ndarray';
import { createLogger } from '../logger';
import { transferList, type BatchedFeed, type RunReply, type RunRequest, type ThreadInit, type ThreadReady } from './inference-protocol';
import { createSession } from './session';

/**
 * The inference thread. onnxruntime-node runs a session synchronously on the calling JS
 * thread, so inference on the worker's event loop would stall every other request (fast
 * 503s, /ping) for its whole duration. Here it blocks only this thread; runs are served one
 * at a time, in arrival order, and buffers move by transfer, not copy.
 */

function toNdArray(tensor: ort.Tensor): NdArray {
  return { dtype: tensor.type as DType, shape: [...tensor.dims], data: tensor.data as TypedArray };
}

/** One buffer, grown as needed and reused: runs are serialised (see main), so one run uses it at a time. */
let scratch = new Float32Array(0);

/** A single part is the input as it is; several (a batch of requests) are joined into the scratch buffer. */
function joined(feed: BatchedFeed): ort.Tensor {
  if (feed.parts.length === 1) return new ort.Tensor('float32', feed.parts[0]!, [...feed.shape]);
  const length = feed.parts.reduce((sum, part) => sum + part.length, 0);
  if (scratch.length < length) scratch = new Float32Array(length);
  let offset = 0;
  for (const part of feed.parts) {
    scratch.set(part, offset);
    offset += part.length;
  }
  return new ort.Tensor('float32', scratch.subarray(0, length), [...feed.shape]);
}

/** The batched feeds' parts, to hand back to the worker for its next images. */
function batchedParts(request: RunRequest): Float32Array[] {
  return Object.values(request.feeds).flatMap((feed) => ('parts' in feed ? [...feed.parts] : []));
}

async function run(session: ort.InferenceSession, request: RunRequest): Promise<RunReply> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, feed] of Object.entries(request.feeds)) {
    feeds[name] = 'parts' in feed ? joined(feed) : new ort.Tensor(feed.dtype, feed.data, [...feed.shape]);
  }
  const started = performance.now();
  const result = await session.run(feeds, [...request.outputNames]);
  const runSeconds = (performance.now() - started) / 1000;
  const outputs: Record<string, NdArray> = {};
  for (const name of request.outputNames) outputs[name] = toNdArray(result[name]!);
  return { id: request.id, outputs, runSeconds, returned: batchedParts(request) };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as ThreadInit;
  let session: ort.InferenceSession;
  try {
    const loaded = await createSession(init.graphs, init.options, createLogger(init.logLevel, { thread: 'inference' }));
    session = loaded.session;
    const ready: ThreadReady = {
      type: 'ready',
      provider: loaded.provider,
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
    };
    port.postMessage(ready);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies ThreadReady);
    return;
  }
  const serve = async (request: RunRequest) => {
    let reply: RunReply;
    try {
      reply = await run(session, request);
    } catch (error) {
      reply = { id: request.id, error: (error as Error).message, returned: batchedParts(request) };
    }
    const outputs = 'outputs' in reply ? Object.values(reply.outputs).map((output) => output.data) : [];
    port.postMessage(reply, transferList([...outputs, ...reply.returned]));
  };
  // One run at a time, in arrival order: session.run yields to the event loop, and a second
  // message served meanwhile would overwrite the scratch input of the first.
  let queue = Promise.resolve();
  port.on('message', (request: RunRequest) => {
    queue = queue.then(() => serve(request));
  });
}

void main();

import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { createLogger } from '../logger';
import type { RunReply, RunRequest, ThreadInit, ThreadReady } from './inference-protocol';
import { createSession } from './session';

/**
 * The inference thread. onnxruntime-node runs a session synchronously on the calling JS
 * thread, so inference on the worker's event loop would stall every other request (fast
 * 503s, /ping) for its whole duration. Here it blocks only this thread; runs are served one
 * at a time, in arrival order, and buffers move by transfer, not copy.
 */
async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as ThreadInit;
  let session: ort.InferenceSession;
  try {
    const loaded = await createSession(init.onnxPath, init.options, createLogger(init.logLevel, { thread: 'inference' }));
    session = loaded.session;
    const ready: ThreadReady = { type: 'ready', provider: loaded.provider, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
    port.postMessage(ready);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies ThreadReady);
    return;
  }
  port.on('message', async (request: RunRequest) => {
    let reply: RunReply;
    try {
      const feeds = { [request.inputName]: new ort.Tensor('float32', request.input, [...request.dims]) };
      const result = await session.run(feeds, [request.outputName]);
      reply = { id: request.id, output: result[request.outputName]!.data as Float32Array };
    } catch (error) {
      reply = { id: request.id, error: (error as Error).message };
    }
    port.postMessage(reply, 'output' in reply ? [reply.output.buffer as ArrayBuffer] : []);
  });
}

void main();

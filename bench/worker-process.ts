import { spawn } from 'node:child_process';
import { loadConfig } from '../image_classification/config';
import { readModelBundle } from '../image_classification/model/model-dir';
import { WORKER_NODE_ARGS, workerRuntimeEnv } from '../image_classification/worker-env';
import { measureComputeLimit } from './compute-limit';
import { measureImageCosts } from './decode-floor';
import { benchImages, SIZES } from './images';

/**
 * In-process measurements (the compute limit, one image's cost) run in a child process with
 * the allocator and the malloc and libuv settings serve gives its workers, so that they and the product differ
 * only by what the product adds (HTTP, nginx, the worker layout).
 */

type Task = 'compute-limit' | 'image-costs';

async function run(task: Task, modelDir: string, seconds: number): Promise<unknown> {
  const bundle = await readModelBundle(modelDir);
  const images = await benchImages();
  if (task === 'compute-limit') return measureComputeLimit(bundle, images, seconds);
  const named = (name: keyof typeof SIZES, data: Buffer) => ({ name, width: SIZES[name][0], height: SIZES[name][1], data });
  return measureImageCosts(
    [
      named('small', images.small[0]!),
      named('large', images.large[0]!),
      named('phone', images.phone[0]!),
      named('portrait', images.portrait),
    ],
    bundle.spec,
    seconds,
  );
}

export function inWorkerProcess<T>(task: Task, modelDir: string, seconds: number): Promise<T> {
  const env = { ...process.env, ...workerRuntimeEnv(process.env, loadConfig().mallocPreload) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...WORKER_NODE_ARGS, __filename, task, modelDir, String(seconds)], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`bench ${task} exited ${code}`))));
  });
}

if (require.main === module) {
  const [task, modelDir, seconds] = process.argv.slice(2) as [Task, string, string];
  void run(task, modelDir, Number(seconds)).then((result) => process.stdout.write(JSON.stringify(result)));
}

import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { loadConfig, type Config } from '../image_classification/config';
import { HandlerPipeline } from '../image_classification/handler/pipeline';
import { createApp } from '../image_classification/http/app';
import type { ModelState } from '../image_classification/http/model-state';
import { createLogger } from '../image_classification/logger';
import { readModelBundle, unpackArchive, type ModelBundle } from '../image_classification/model/model-dir';
import { statFields } from '../image_classification/proc-stat';
import { pipelineOptions } from '../image_classification/settings';
import { SHIPPED_ARCHIVE } from './env';

export * from './env';

export const silentLogger = createLogger('silent');

let shipped: Promise<ModelBundle> | undefined;
/** The shipped model, unpacked once per test file. */
export function shippedBundle(): Promise<ModelBundle> {
  shipped ??= unpackArchive(SHIPPED_ARCHIVE).then(readModelBundle);
  return shipped;
}

/** A fresh copy of the shipped model dir, to change files in. */
export async function shippedModelCopy(prefix = 'model-copy-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await cp((await shippedBundle()).dir, dir, { recursive: true });
  return dir;
}

/** A copy of the shipped model dir with `code/<file>` holding `source`. */
export async function modelDirWithHandler(source: string, file = 'inference.js'): Promise<string> {
  const dir = await shippedModelCopy('handler-model-');
  await mkdir(path.join(dir, 'code'));
  await writeFile(path.join(dir, 'code', file), source);
  return dir;
}

/**
 * Handler source that holds the model's warm-up (the shipped model otherwise), or every
 * invocation (answering 'done'), until `releasedFile` exists: "loading" or "in progress" lasts as
 * long as the test needs on any machine, 60 s at most.
 */
export function heldHandlerSource(hold: 'load' | 'invocations', releasedFile: string): string {
  const untilReleased = `() => new Promise((resolve) => {
      const deadline = Date.now() + 60000;
      const poll = () => (require('node:fs').existsSync(${JSON.stringify(releasedFile)}) || Date.now() > deadline ? resolve() : setTimeout(poll, 20));
      poll();
    })`;
  return hold === 'load'
    ? `exports.warmupFn = ${untilReleased};\n`
    : `const untilReleased = ${untilReleased};
    exports.modelFn = () => ({});
    exports.transformFn = async () => { await untilReleased(); return 'done'; };\n`;
}

/** A copy of the shipped model with a held handler (see heldHandlerSource) and its release. */
export async function heldHandlerModel(
  hold: 'load' | 'invocations' = 'invocations',
): Promise<{ dir: string; release: () => Promise<void> }> {
  const releasedFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'release-')), 'released');
  const dir = await modelDirWithHandler(heldHandlerSource(hold, releasedFile));
  return { dir, release: () => writeFile(releasedFile, '') };
}

/** The shipped model behind the request pipeline, as a worker loads it with `env`. */
export async function loadShippedPipeline(env: Record<string, string> = {}, modelDir?: string): Promise<HandlerPipeline> {
  const config = testConfig({ INFERENCE_DEVICE: 'cpu', ...env });
  return HandlerPipeline.load(modelDir ?? (await shippedBundle()).dir, pipelineOptions(config), silentLogger);
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ ...env }, 2);
}

/** The promise's value, or 'timeout' after `ms`; the timer never keeps the process alive. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);
}

/** Whether a command-line tool is installed and runs. */
/** Whether `pid` runs: one that exited but is not reaped yet (a zombie, 'Z') counts as gone. */
export function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

export function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The `skip` option of a test that needs something installed (`installed` says whether it is):
 * skipped on a developer machine without it, but never under CI=true, where .ci/run installs
 * everything the suite uses and a missing one must fail the test.
 */
export function skipWithoutInstalled(name: string, installed: () => boolean): string | false {
  return process.env.CI !== 'true' && !installed() ? `${name} is not installed (.ci/run installs it)` : false;
}

/** skipWithoutInstalled for a command-line tool. */
export function skipWithout(command: string): string | false {
  return skipWithoutInstalled(command, () => hasCommand(command));
}

/** The real Express app with `state`, listening on a loopback port. */
export async function listenApp(state: ModelState): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(createApp({ config: testConfig(), state, logger: silentLogger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

/** A real S3-compatible server (s3rver) on loopback with one bucket; s3rver only accepts its own keys. */
export async function startS3rver(bucket: string): Promise<{ s3rver: S3rver; endpoint: string }> {
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: await mkdtemp(path.join(os.tmpdir(), 's3rver-')),
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await s3rver.run();
  return { s3rver, endpoint: `http://127.0.0.1:${port}` };
}

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

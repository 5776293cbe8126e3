import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import autocannon from 'autocannon';
import { ROOT } from '../harness/env';
import { startServe, type Served } from '../harness/serve-process';

/** One autocannon run POSTing an image to /invocations on loopback. */
export interface LoadResult {
  readonly connections: number;
  readonly seconds: number;
  readonly requests: number;
  readonly rps: number;
  readonly ok: number;
  readonly overloaded: number;
  readonly otherErrors: number;
  readonly timeouts: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * POST `images` (one, or several in turn) to /invocations (or `path`) on loopback, or on a
 * unix socket (`socketPath`; the url then only gives the Host).
 */
export async function runLoad(
  url: string,
  images: Buffer | readonly Buffer[],
  options: { connections: number; seconds: number; rate?: number; timeoutSeconds?: number; socketPath?: string; path?: string },
): Promise<LoadResult> {
  const bodies = Buffer.isBuffer(images) ? [images] : images;
  let next = 0;
  const result = await autocannon({
    url: `${url}${options.path ?? '/invocations'}`,
    method: 'POST',
    headers: { 'content-type': 'application/x-image' },
    body: bodies[0],
    // Each request takes the next image, so a run mixes the sizes as real traffic does.
    ...(bodies.length > 1 ? { requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }] } : {}),
    connections: options.connections,
    duration: options.seconds,
    timeout: options.timeoutSeconds ?? 30,
    ...(options.rate ? { overallRate: options.rate } : {}),
    ...(options.socketPath ? { socketPath: options.socketPath } : {}),
  });
  const byStatus = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const count = (status: string) => byStatus[status]?.count ?? 0;
  const ok = count('200');
  const overloaded = count('503');
  return {
    connections: options.connections,
    seconds: options.seconds,
    requests: result.requests.total,
    rps: Math.round((ok / options.seconds) * 10) / 10,
    ok,
    overloaded,
    otherErrors: result.non2xx - overloaded + result.errors - result.timeouts,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  };
}

export function printTable(rows: Record<string, string | number>[]): void {
  const keys = Object.keys(rows[0] ?? {});
  const width = (k: string) => Math.max(k.length, ...rows.map((r) => String(r[k]).length));
  console.log(keys.map((k) => k.padEnd(width(k))).join('  '));
  for (const row of rows) console.log(keys.map((k) => String(row[k]).padEnd(width(k))).join('  '));
}

export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = path.join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), ...(data as object) }, null, 2)}\n`);
  return file;
}

/**
 * `serve` as the bench measures it: `modelDir`, no request log, and serve's own worker count
 * (blank means unset, not the test harness's 2) unless this process's environment sets one.
 */
export function startProduct(modelDir: string, env: Record<string, string> = {}, root?: string): Promise<Served> {
  return startServe(
    {
      SM_MODEL_DIR: modelDir,
      SAGEMAKER_MODEL_SERVER_WORKERS: process.env.SAGEMAKER_MODEL_SERVER_WORKERS ?? '',
      LOG_LEVEL: 'error',
      ...env,
    },
    // Cold start is the time to the first /ping 200, when SageMaker would send traffic, asked
    // every 10 ms; the warm-up run covers the moment the second worker is brought into nginx.
    { allWorkers: false, pollMs: 10, ...(root ? { root } : {}) },
  );
}

/** A short run that warms the JIT and caches; not recorded. */
export async function warmUp(url: string, images: Buffer | readonly Buffer[], path?: string): Promise<void> {
  await runLoad(url, images, { connections: 4, seconds: 2, ...(path ? { path } : {}) });
}

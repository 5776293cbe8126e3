import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseCli, runCli } from '../image_classification/cli/args';
import {
  CUDA_MODEL_FILE,
  LABELS_FILE,
  MODEL_FILE,
  readModelBundle,
  SPEC_FILE,
  unpackArchive,
} from '../image_classification/model/model-dir';
import { freePort, SHIPPED_ARCHIVE, waitFor } from '../harness/env';
import { renderChart } from './chart';
import { measureComputeLimit } from './compute-limit';
import { benchImages } from './images';
import { printTable, runLoad, startProduct, warmUp, writeResult, type LoadResult } from './load';
import { workerPids, workerSockets } from '../harness/serve-process';
import { memoryMb } from './memory';
import { measureMetricsCost } from './metrics-cost';
import { evaluateTargets } from './targets';

const USAGE = `usage: npm run bench -- [--seconds 15] [--concurrency 1,4,16,64]
Measures, in one run on this machine: the compute limit (in-process decode + preprocess +
infer, best of a few configurations) of the shipped int8 model and of its float32 export,
the naive baseline server (bench/naive-server.ts) serving the float32 export, and the
product (serve with its defaults, the shipped model) under autocannon at each concurrency,
serve's cold start and per-worker RSS, and what metrics + Server-Timing cost at c=16 (on and off,
interleaved). Prints the table and the target ratios; writes
bench/results/bench.json and bench/results/bench.png.`;

/**
 * The shipped model as a user would export it without quantizing: its float32 graph
 * (model.cuda.onnx) as the only model.onnx, with the same labels and preprocessing.
 */
async function float32Export(modelDir: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'float32-export-'));
  await copyFile(path.join(modelDir, CUDA_MODEL_FILE), path.join(dir, MODEL_FILE));
  for (const file of [LABELS_FILE, SPEC_FILE]) await copyFile(path.join(modelDir, file), path.join(dir, file));
  return dir;
}

async function sweep(url: string, images: Buffer[], levels: number[], seconds: number): Promise<LoadResult[]> {
  await warmUp(url, images);
  const results: LoadResult[] = [];
  for (const connections of levels) results.push(await runLoad(url, images, { connections, seconds }));
  return results;
}

async function naiveBaseline(modelDir: string, images: Buffer[], levels: number[], seconds: number): Promise<LoadResult[]> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, 'naive-server.js'), String(port), modelDir], { stdio: 'inherit' });
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/ping`)).ok, 30_000, 'the naive server');
    return await sweep(url, images, levels, seconds);
  } finally {
    child.kill('SIGKILL');
  }
}

async function product(modelDir: string, images: Buffer[], levels: number[], seconds: number) {
  const started = performance.now();
  const served = await startProduct(modelDir);
  const coldStartMs = Math.round(performance.now() - started);
  try {
    const pids = workerPids(served);
    const before = await Promise.all(pids.map(memoryMb));
    const load = await sweep(served.url, images, levels, seconds);
    const after = await Promise.all(pids.map(memoryMb));
    // The same 16 connections straight to the workers' sockets, split evenly: what nginx costs.
    const direct = await Promise.all(
      workerSockets(served, pids.length).map((socketPath) =>
        runLoad(served.url, images, { connections: 16 / pids.length, seconds, socketPath }),
      ),
    );
    const withoutNginx = {
      rps: Math.round(direct.reduce((sum, r) => sum + r.rps, 0) * 10) / 10,
      p50: Math.max(...direct.map((r) => r.p50)),
      p99: Math.max(...direct.map((r) => r.p99)),
    };
    const rss = (samples: { rss: number }[]) => samples.map((m) => m.rss);
    const pss = (samples: { pss: number }[]) => samples.map((m) => m.pss);
    return {
      coldStartMs,
      workers: pids.length,
      rssBefore: rss(before),
      rssAfter: rss(after),
      pssBefore: pss(before),
      pssAfter: pss(after),
      load,
      withoutNginx,
    };
  } finally {
    served.killAll();
  }
}

const row = (name: string, r: LoadResult) => ({
  server: name,
  c: r.connections,
  'img/s': r.rps,
  p50: r.p50,
  p99: r.p99,
  errors: r.requests - r.ok,
});

runCli(async () => {
  const { values } = parseCli(
    { seconds: { type: 'string', default: '15' }, concurrency: { type: 'string', default: '1,4,16,64' }, help: { type: 'boolean' } },
    USAGE,
  );
  const seconds = Number(values.seconds);
  const levels = values.concurrency.split(',').map(Number);
  const modelDir = await unpackArchive(SHIPPED_ARCHIVE);
  const images = await benchImages();
  const machine = {
    cpus: os.availableParallelism(),
    model: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  console.log(`machine: ${machine.cpus} cores (${machine.model}), ${machine.memoryGb} GB, Node ${machine.node}`);

  const floatDir = await float32Export(modelDir);
  console.log('1/5 compute limit of the shipped model (in process, no HTTP)…');
  const compute = await measureComputeLimit(await readModelBundle(modelDir), images, seconds / 2);
  console.log('2/5 compute limit of its float32 export…');
  const floatCompute = await measureComputeLimit(await readModelBundle(floatDir), images, seconds / 2);
  console.log('3/5 naive baseline serving the float32 export…');
  const naive = await naiveBaseline(floatDir, images.mixed, levels, seconds);
  console.log('4/5 product (serve, defaults, the shipped model)…');
  const served = await product(modelDir, images.mixed, levels, seconds);
  console.log('5/5 metrics and Server-Timing on vs off (serve, c=16, interleaved rounds)…');
  const metricsCost = await measureMetricsCost(modelDir, images.mixed, seconds);

  const rounded = (_k: string, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v);
  printTable(
    compute.tried.map((c, i) => ({
      'compute config': `${c.sessions} session(s) x ${c.threads} thread(s), batch ${c.batch}`,
      'int8 img/s': Math.round(c.imagesPerSecond * 10) / 10,
      'float32 img/s': Math.round(floatCompute.tried[i]!.imagesPerSecond * 10) / 10,
    })),
  );
  for (const [name, limit] of [
    ['int8 (shipped)', compute],
    ['float32 export', floatCompute],
  ] as const) {
    console.log(
      `${name} compute limit: ${limit.best.imagesPerSecond.toFixed(1)} img/s; one image ${limit.singleImageMs.toFixed(1)} ms; ` +
        `stages (ms): ${JSON.stringify(limit.stagesMs, rounded)}`,
    );
  }
  printTable([...naive.map((r) => row('naive', r)), ...served.load.map((r) => row('product', r))]);
  console.log(
    `serve cold start ${served.coldStartMs} ms; ${served.workers} worker(s), ` +
      `RSS before ${served.rssBefore.join('/')} MB, after ${served.rssAfter.join('/')} MB` +
      ` (PSS ${served.pssBefore.join('/')} -> ${served.pssAfter.join('/')} MB)`,
  );
  const p16 = served.load.find((r) => r.connections === 16);
  console.log(
    `where c=16 goes: compute limit ${compute.best.imagesPerSecond.toFixed(1)} img/s` +
      ` -> workers' sockets directly (Express, the inference-thread hop) ${served.withoutNginx.rps}` +
      ` (p50 ${served.withoutNginx.p50} ms) -> through nginx ${p16?.rps ?? '-'} (p50 ${p16?.p50 ?? '-'} ms)`,
  );
  console.log(
    `metrics on: ${metricsCost.on.join(' / ')} img/s; off: ${metricsCost.off.join(' / ')} img/s; ` +
      `cost ${(100 * metricsCost.cost).toFixed(1)}%`,
  );
  const targets = evaluateTargets(compute, floatCompute, naive, served, metricsCost);
  printTable(targets.map((t) => ({ target: t.name, measured: t.measured, goal: t.goal, met: t.met ? 'yes' : 'NO' })));

  const result = {
    machine,
    seconds,
    images: { small: '640x480', large: '1920x1080 (upscaled)', count: images.mixed.length },
    compute,
    floatCompute,
    naive,
    product: served,
    metricsCost,
    targets,
  };
  console.log(await writeResult('bench', result));
  console.log(await renderChart(naive, served.load, compute.best.imagesPerSecond));
  await Promise.all([modelDir, floatDir].map((dir) => rm(dir, { recursive: true, force: true })));
});

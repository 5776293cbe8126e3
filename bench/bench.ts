import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { installedJemalloc } from '../image_classification/allocator';
import { parseCli, runCli } from '../image_classification/cli/args';
import {
  CUDA_MODEL_FILE,
  LABELS_FILE,
  MODEL_FILE,
  readModelBundle,
  SPEC_FILE,
  unpackArchive,
} from '../image_classification/model/model-dir';
import { batchDims, tensorLayout } from '../image_classification/preprocess/tensor';
import { freePort, SHIPPED_ARCHIVE, waitFor } from '../harness/env';
import { renderChart } from './chart';
import type { ComputeLimit } from './compute-limit';
import { perfAvailable } from './cpu-profile';
import type { ImageCost } from './decode-floor';
import { benchImages } from './images';
import { printTable, runLoad, warmUp, writeResult, type LoadResult } from './load';
import { machineInfo } from './machine';
import { measureMetricsCost } from './metrics-cost';
import { measureModelAlone } from './model-alone';
import { compareServes, measureProduct, type Comparison, type ServeVariant } from './product';
import { printProfiles, profileServe, type ProfiledRun } from './profile';
import { evaluateTargets } from './targets';
import { inWorkerProcess } from './worker-process';

const USAGE = `usage: npm run bench -- [--seconds 15] [--concurrency 1,4,16,64] [--baseline DIR]
Measures, in one run on this machine: the compute limit (in-process decode + preprocess +
infer, best of a few configurations) of the shipped int8 model and of its float32 export;
the model alone (ONNX Runtime on a ready tensor, a process per core, 1 thread, batch 1);
each bench photo's decode + preprocess against tjbench's decode of the same file; the naive
baseline server (bench/naive-server.ts) serving the float32 export; the product (serve with
its defaults, the shipped model) under autocannon at each concurrency, with its cold start and
per-worker RSS across repeated runs; a perf profile of serve at c=16 by component; and what
metrics + Server-Timing cost at c=16 (on and off, interleaved). --baseline DIR: another built
checkout (a release) served the same way, profiled and compared at c=16 in alternating rounds.
Prints the tables and the target ratios; writes bench/results/bench.json and bench.png.`;

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

async function naiveBaseline(modelDir: string, images: Buffer[], levels: number[], seconds: number): Promise<LoadResult[]> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(__dirname, 'naive-server.js'), String(port), modelDir], { stdio: 'inherit' });
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/ping`)).ok, 30_000, 'the naive server');
    await warmUp(url, images);
    const results: LoadResult[] = [];
    for (const connections of levels) results.push(await runLoad(url, images, { connections, seconds }));
    return results;
  } finally {
    child.kill('SIGKILL');
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

const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2));

runCli(async () => {
  const { values } = parseCli(
    {
      seconds: { type: 'string', default: '15' },
      concurrency: { type: 'string', default: '1,4,16,64' },
      baseline: { type: 'string' },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  const seconds = Number(values.seconds);
  const levels = values.concurrency.split(',').map(Number);
  const modelDir = await unpackArchive(SHIPPED_ARCHIVE);
  const images = await benchImages();
  const machine = await machineInfo();
  console.log(`machine: ${machine.summary}`);
  const bundle = await readModelBundle(modelDir);

  const floatDir = await float32Export(modelDir);
  console.log('1/8 compute limit of the shipped model (in process, no HTTP)…');
  const compute = await inWorkerProcess<ComputeLimit>('compute-limit', modelDir, seconds / 2);
  console.log('2/8 compute limit of its float32 export…');
  const floatCompute = await inWorkerProcess<ComputeLimit>('compute-limit', floatDir, seconds / 2);
  console.log('3/8 the model alone (ONNX Runtime on a ready tensor, a process per core)…');
  const modelAlone = await measureModelAlone(bundle.onnxPath, batchDims(tensorLayout(bundle.spec), 1), seconds / 2);
  console.log('4/8 one image: decode + preprocess against tjbench…');
  const imageCosts = await inWorkerProcess<ImageCost[]>('image-costs', modelDir, Math.min(3, seconds / 5));
  console.log('5/8 naive baseline serving the float32 export…');
  const naive = await naiveBaseline(floatDir, images.mixed, levels, seconds);
  console.log('6/8 product (serve, defaults, the shipped model)…');
  const served = await measureProduct(modelDir, images.mixed, levels, seconds);
  console.log('7/8 where the CPU goes at c=16 (perf), and against the baseline…');
  const profiles: ProfiledRun[] = [];
  if (await perfAvailable()) {
    const options = { seconds, connections: 16 };
    profiles.push({ label: 'this tree', ...(await profileServe(modelDir, images.mixed, options)) });
    if (values.baseline) {
      profiles.push({ label: 'baseline', ...(await profileServe(modelDir, images.mixed, { ...options, root: values.baseline })) });
    }
  } else console.log('   perf is not installed: no profile (Debian: apt-get install linux-perf)');
  const compare = (pair: readonly [ServeVariant, ServeVariant], rounds: number) =>
    compareServes(modelDir, images.mixed, pair, seconds, rounds);
  const baseline = values.baseline
    ? await compare(
        [
          { label: 'this tree', root: undefined },
          { label: 'baseline', root: values.baseline },
        ],
        3,
      )
    : undefined;
  console.log('   the defaults against their alternatives (c=16, alternating rounds)…');
  const decisions: Record<string, Comparison> = {
    '1 / 2 ORT threads per worker': await compare([{ label: '1 thread' }, { label: '2 threads', env: { ORT_INTRA_OP_THREADS: '2' } }], 2),
  };
  if (installedJemalloc()) {
    // serve preloads jemalloc into its workers when it is installed (allocator.ts).
    decisions['jemalloc / glibc malloc'] = await compare(
      [{ label: 'jemalloc' }, { label: 'glibc malloc', env: { MODEL_SERVER_MALLOC: 'system' } }],
      2,
    );
  } else console.log('   jemalloc is not installed: no allocator comparison (Debian: apt-get install libjemalloc2)');
  console.log('8/8 metrics and Server-Timing on vs off (serve, c=16, interleaved rounds)…');
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
  console.log(
    `model alone: ${modelAlone.imagesPerSecond.toFixed(1)} img/s (${modelAlone.processes} processes x 1 thread, ${modelAlone.runMs.toFixed(1)} ms a run)`,
  );
  printTable(
    imageCosts.map((c) => ({
      image: `${c.name} ${c.width}x${c.height} (${Math.round(c.bytes / 1024)} kB)`,
      'decode+preprocess ms': ms(c.preprocessMs),
      'its CPU ms': ms(c.preprocessCpuMs),
      'tjbench decode ms': ms(c.tjbenchMs),
      ratio: c.tjbenchMs ? (c.preprocessMs / c.tjbenchMs).toFixed(2) : '-',
    })),
  );
  printTable([...naive.map((r) => row('naive', r)), ...served.load.map((r) => row('product', r))]);
  console.log(
    `serve cold start ${served.coldStartMs} ms; ${served.workers} worker(s), RSS after model load ${served.rssBefore.join('/')} MB, ` +
      `idle after the sweep ${served.rssAfter.join('/')} MB, after each repeated c=16 run ${served.rssRepeated.map((r) => r.join('/')).join(', ')} MB` +
      ` (as each run ended: ${served.rssAtRunEnd.map((r) => r.join('/')).join(', ')} MB)` +
      ` (PSS ${served.pssBefore.join('/')} -> ${served.pssAfter.join('/')} MB)`,
  );
  console.log(
    `levels in turn: ${Object.entries(served.alternating)
      .map(([c, rps]) => `c=${c} ${rps.join(' / ')}`)
      .join('; ')} img/s`,
  );
  const p16 = served.load.find((r) => r.connections === 16);
  console.log(
    `where c=16 goes: compute limit ${compute.best.imagesPerSecond.toFixed(1)} img/s` +
      ` -> workers' sockets directly (Express, the inference-thread hop) ${served.withoutNginx.rps}` +
      ` (p50 ${served.withoutNginx.p50} ms) -> through nginx ${p16?.rps ?? '-'} (p50 ${p16?.p50 ?? '-'} ms)`,
  );
  if (profiles.length) printProfiles(profiles);
  for (const [name, comparison] of Object.entries({ ...(baseline ? { 'this tree / baseline': baseline } : {}), ...decisions })) {
    const rounds = Object.entries(comparison.rounds).map(
      ([label, results]) =>
        `${label} ${results.map((r) => r.rps).join(' / ')} img/s (workers per image: ` +
        `${results.map((r) => r.workerCpuMs).join(' / ')} ms CPU, ${results.map((r) => r.workerMinorFaults).join(' / ')} page faults)`,
    );
    console.log(`c=16, ${name}: ${rounds.join('; ')}: ${comparison.ratio.toFixed(2)}x`);
  }
  console.log(
    `metrics on: ${metricsCost.on.join(' / ')} img/s; off: ${metricsCost.off.join(' / ')} img/s; ` +
      `cost ${(100 * metricsCost.cost).toFixed(1)}%`,
  );
  const targets = evaluateTargets({ compute, floatCompute, modelAlone, imageCosts, naive, product: served, metricsCost, baseline });
  printTable(targets.map((t) => ({ target: t.name, measured: t.measured, goal: t.goal, met: t.met ? 'yes' : 'NO' })));

  const result = {
    machine,
    seconds,
    images: {
      small: '640x480',
      large: '1920x1080 (upscaled)',
      phone: '4032x3024 (upscaled)',
      portrait: '4032x3024 stored, EXIF orientation 6 (3024x4032 upright)',
      count: images.mixed.length,
    },
    compute,
    floatCompute,
    modelAlone,
    imageCosts,
    naive,
    product: served,
    profiles,
    baseline,
    decisions,
    metricsCost,
    targets,
  };
  console.log(await writeResult('bench', result));
  console.log(await renderChart(naive, served.load, compute.best.imagesPerSecond));
  await Promise.all([modelDir, floatDir].map((dir) => rm(dir, { recursive: true, force: true })));
});

import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseCli, runCli } from '../image_classification/cli/args';
import { unpackArchive } from '../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../harness/env';
import { startServe, workerPids } from '../harness/serve-process';
import { benchImages } from './images';
import { printTable, runLoad, startProduct, warmUp, writeResult, type LoadResult } from './load';
import { memoryMb } from './memory';

const USAGE = `usage: npm run bench:multi-model -- [--seconds 10] [--copies 8]
Measures, in one run on this machine: invoke latency and throughput of the shipped model in
single-model mode (/invocations) and as one model of a multi-model endpoint
(/models/{name}/invoke), the time of a load (POST /models) and of a first use through
InvokeEndpoint's TargetModel (unpack + load in every worker + the answer), and the workers'
resident memory per loaded copy of the shipped model, hence copies per GB. Writes
bench/results/multi-model.json.`;

/** Past a worker's idle release (1 s after its last work) and the release itself. */
const SETTLE_MS = 2500;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(work: () => Promise<Response>): Promise<number> {
  const started = performance.now();
  const res = await work();
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return performance.now() - started;
}

/** A models root as SageMaker lays it out: `m<i>/model/` unpacked, and `first<i>.tar.gz` for first uses. */
async function modelsRoot(copies: number, firstUses: number): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-models-'));
  const unpacked = await unpackArchive(SHIPPED_ARCHIVE);
  for (let i = 0; i < copies; i++) await cp(unpacked, path.join(root, `m${i}`, 'model'), { recursive: true });
  await mkdir(root, { recursive: true });
  for (let i = 0; i < firstUses; i++) await cp(SHIPPED_ARCHIVE, path.join(root, `first${i}.tar.gz`));
  return root;
}

const row = (mode: string, result: LoadResult) => ({
  mode,
  connections: result.connections,
  rps: result.rps,
  p50: result.p50,
  p99: result.p99,
  errors: result.otherErrors,
});

runCli(async () => {
  const { values } = parseCli(
    { seconds: { type: 'string', default: '10' }, copies: { type: 'string', default: '8' }, help: { type: 'boolean' } },
    USAGE,
  );
  const seconds = Number(values.seconds);
  const copies = Number(values.copies);
  const images = (await benchImages()).small;
  const rows = [];

  const single = await startProduct(await unpackArchive(SHIPPED_ARCHIVE));
  try {
    await warmUp(single.url, images);
    for (const connections of [1, 16]) rows.push(row('single-model', await runLoad(single.url, images, { connections, seconds })));
  } finally {
    single.killAll();
  }

  const firstUses = 3;
  const root = await modelsRoot(copies, firstUses);
  const mme = await startServe({
    SAGEMAKER_MULTI_MODEL: 'true',
    MODEL_SERVER_MODELS_ROOT: root,
    SAGEMAKER_MODEL_SERVER_WORKERS: process.env.SAGEMAKER_MODEL_SERVER_WORKERS ?? '',
    LOG_LEVEL: 'error',
  });
  try {
    // Measured once the workers have handed back what the load itself used (an idle worker
    // releases its allocator's free pages after 1 s, memory-trim.ts): what a loaded model holds.
    const workersRss = async () => {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      return (await Promise.all(workerPids(mme).map(memoryMb))).reduce((sum, memory) => sum + memory.rss, 0);
    };
    const rss = [await workersRss()];
    const loadMs: number[] = [];
    for (let i = 0; i < copies; i++) {
      const body = JSON.stringify({ model_name: `m${i}`, url: `m${i}/model` });
      loadMs.push(await timed(() => fetch(`${mme.url}/models`, { method: 'POST', body })));
      rss.push(await workersRss());
    }
    const image = images[0]!;
    const firstUseMs: number[] = [];
    for (let i = 0; i < firstUses; i++) {
      const headers = { 'Content-Type': 'image/jpeg', 'X-Amzn-SageMaker-Target-Model': `first${i}.tar.gz` };
      firstUseMs.push(await timed(() => fetch(`${mme.url}/endpoints/bench/invocations`, { method: 'POST', body: image, headers })));
    }
    await warmUp(mme.url, images, '/models/m0/invoke');
    for (const connections of [1, 16]) {
      rows.push(row('multi-model, 1 of many', await runLoad(mme.url, images, { connections, seconds, path: '/models/m0/invoke' })));
    }
    // The first load also brings ONNX Runtime's and sharp's code into each worker: the later ones are what a model costs.
    const perCopyMb = (rss.at(-1)! - rss[1]!) / (copies - 1);
    const memory = {
      workers: workerPids(mme).length,
      workersRssMbBeforeAnyModel: rss[0],
      workersRssMbAfterFirstModel: rss[1],
      workersRssMbAfterAll: rss.at(-1),
      perCopyMb: Math.round(perCopyMb * 10) / 10,
      copiesPerGb: Math.floor(1024 / perCopyMb),
    };
    const loads = {
      loadMsMedian: Math.round(median(loadMs)),
      loadMsFirst: Math.round(loadMs[0]!),
      firstUseMsMedian: Math.round(median(firstUseMs)),
    };
    printTable(rows);
    console.log(JSON.stringify({ ...loads, ...memory }, null, 2));
    const c1 = rows.filter((r) => r.connections === 1);
    console.log(`invoke p50 at c=1, multi-model / single-model: ${(c1[1]!.p50 / c1[0]!.p50).toFixed(2)}`);
    console.log(`written ${await writeResult('multi-model', { rows, ...loads, ...memory, loadMs, firstUseMs, rssMb: rss })}`);
  } finally {
    mme.killAll();
  }
});

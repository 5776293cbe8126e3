import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { after, before, test } from 'node:test';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { installedJemalloc } from '../../image_classification/allocator';
import { unpackArchive } from '../../image_classification/model/model-dir';
import { parentPid } from '../../image_classification/proc-stat';
import { removeStaleRunDirs } from '../../image_classification/run-dir';
import {
  DATA_DIR,
  heldHandlerModel,
  isRunning,
  modelDirWithHandler,
  ROOT,
  sample,
  SHIPPED_ARCHIVE,
  skipWithout,
  skipWithoutInstalled,
  waitFor,
  withDeadline,
} from '../../harness/helpers';
import { parseSamples, total } from '../../harness/prometheus';
import { invoke, processesOfRun, serveRunDir, startServe as startHarness, workerPids, type Served } from '../../harness/serve-process';

let modelDir: string;
const startServe = (env: Record<string, string> = {}, options?: { waitForPing?: boolean }) =>
  startHarness({ SM_MODEL_DIR: modelDir, ...env }, options);

let served: Served;
before(async () => {
  modelDir = await unpackArchive(SHIPPED_ARCHIVE);
  served = await startServe({ SAGEMAKER_MAX_PAYLOAD_IN_MB: '1', MODEL_SERVER_DEMO_PAGE: 'false' });
});
after(() => served.killAll());

test('serve answers /ping and classifies the sample images like `npm run predict`', async () => {
  const ping = await fetch(`${served.url}/ping`);
  assert.equal(ping.status, 200);
  assert.equal(((await ping.json()) as { status: string }).status, 'healthy');

  const files = readdirSync(DATA_DIR)
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => path.join(DATA_DIR, f));
  assert.ok(files.length >= 3);
  const cli = await promisify(execFile)(process.execPath, [
    path.join(ROOT, 'dist/image_classification/cli/predict.js'),
    '--model',
    modelDir,
    ...files,
  ]);
  const fromCli = cli.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  for (const [i, file] of files.entries()) {
    const res = await invoke(served.url, await sample(path.basename(file)));
    assert.equal(res.status, 200);
    const { predictions } = (await res.json()) as { predictions: { class: string; probabilities: Record<string, number> } };
    // data/ holds one photo per class, named after it (see data/README.md).
    assert.equal(predictions.class, path.basename(file, '.jpg'));
    assert.equal(fromCli[i].file, file);
    assert.equal(fromCli[i].predictions.class, predictions.class);
    for (const [label, p] of Object.entries(predictions.probabilities)) {
      assert.ok(Math.abs(fromCli[i].predictions.probabilities[label] - p) < 1e-5, `${file} ${label}`);
    }
  }
});

test('`npm run predict` gives a file it cannot classify a coded error line, goes on, and exits 1', async () => {
  const notAnImage = path.join(DATA_DIR, 'README.md');
  const failed = (await promisify(execFile)(process.execPath, [
    path.join(ROOT, 'dist/image_classification/cli/predict.js'),
    '--model',
    modelDir,
    notAnImage,
    path.join(DATA_DIR, 'glass.jpg'),
  ]).catch((error: unknown) => error)) as { code?: number; stdout?: string };
  assert.equal(failed.code, 1);
  const [refused, classified] = failed
    .stdout!.trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.equal(refused.file, notAnImage);
  assert.equal(refused.error.code, 'invalid_image');
  assert.equal(classified.predictions.class, 'glass');
});

test('nginx refuses bodies over the limit with a JSON 413 and unknown paths with a JSON 404', async () => {
  const res = await invoke(served.url, Buffer.alloc(2 * 1024 * 1024, 1));
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'payload_too_large');
  const missing = await fetch(`${served.url}/static/../../etc/passwd`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  const ok = await invoke(served.url, await sample('glass.jpg'));
  assert.equal(ok.status, 200, 'still serving');
});

test('the AWS SDK InvokeEndpoint call works against serve (local endpoint emulation)', async () => {
  const client = new SageMakerRuntimeClient({
    endpoint: served.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
  });
  const response = await client.send(
    new InvokeEndpointCommand({
      EndpointName: 'trash-classifier',
      ContentType: 'application/x-image',
      Body: await sample('plastic.jpg'),
      InferenceId: 'inf-1',
    }),
  );
  assert.equal(response.InvokedProductionVariant, 'AllTraffic');
  assert.equal(JSON.parse(Buffer.from(response.Body!).toString()).predictions.class, 'plastic');
  await assert.rejects(
    client.send(new InvokeEndpointCommand({ EndpointName: 'trash-classifier', ContentType: 'text/plain', Body: Buffer.from('x') })),
    (error: unknown) => error instanceof ModelError && error.OriginalStatusCode === 415,
  );
});

test('the AWS CLI command of docs/troubleshooting.md works against serve', { skip: skipWithout('aws') }, async () => {
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'cli-')), 'out.json');
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'any', AWS_SECRET_ACCESS_KEY: 'any', AWS_DEFAULT_REGION: 'us-east-1' };
  await promisify(execFile)(
    'aws',
    [
      'sagemaker-runtime',
      'invoke-endpoint',
      '--endpoint-url',
      served.url,
      '--endpoint-name',
      'local',
      '--content-type',
      'application/x-image',
      '--body',
      `fileb://${path.join(DATA_DIR, 'paper.jpg')}`,
      out,
    ],
    { env },
  );
  assert.equal(JSON.parse(await readFile(out, 'utf8')).predictions.class, 'paper');
});

test('a second serve on a taken port exits 1 naming the port, and the first keeps serving', async () => {
  const port = new URL(served.url).port;
  const second = await startServe({ SAGEMAKER_BIND_TO_PORT: port }, { waitForPing: false });
  try {
    const code = await withDeadline(second.exited, 20_000);
    assert.equal(code, 1, second.output());
    assert.match(second.output(), new RegExp(`port ${port} is in use`));
  } finally {
    second.killAll();
  }
  for (const name of ['glass.jpg', 'paper.jpg', 'plastic.jpg', 'glass.jpg']) {
    const res = await invoke(served.url, await sample(name));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { predictions: { class: string } }).predictions.class, path.basename(name, '.jpg'));
  }
});

test('nginx listens on IPv6 too where the host has it (an IPv6-only cluster probes the pod there)', async () => {
  const port = new URL(served.url).port;
  // What serve checks: whether the host can bind IPv6 at all (a kernel without it cannot).
  const hostHasIpv6 = await new Promise<boolean>((resolve) => {
    const probe = net.createServer().once('error', () => resolve(false));
    probe.listen({ host: '::1', port: 0 }, () => probe.close(() => resolve(true)));
  });
  const answer = await fetch(`http://[::1]:${port}/ping`).catch((error: Error) => error);
  if (hostHasIpv6) {
    assert.ok(!(answer instanceof Error), `[::1]:${port}: ${String(answer)}`);
    assert.equal(answer.status, 200);
  } else {
    assert.ok(answer instanceof Error, 'no IPv6 on this host, yet [::1] answered');
  }
});

test("MODEL_SERVER_DEMO_PAGE=false: GET / is a JSON 404 from nginx, with a request id and nosniff like a worker's answer", async () => {
  const res = await fetch(`${served.url}/`);
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
  assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/, "nginx's own id");
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const traced = await fetch(`${served.url}/nope`, { headers: { 'X-Request-Id': 'trace-42' } });
  assert.equal(traced.status, 404);
  assert.equal(traced.headers.get('x-request-id'), 'trace-42', "the caller's id, echoed");
  const long = await fetch(`${served.url}/nope`, { headers: { 'X-Request-Id': 'r'.repeat(300) } });
  assert.match(long.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/, 'too long to echo: replaced');
});

test('SIGTERM lets in-flight requests finish, then serve exits 0', async () => {
  // The handler holds all three until after the signal, so they are surely in flight at it.
  const held = await heldHandlerModel();
  const own = await startHarness({ SM_MODEL_DIR: held.dir });
  try {
    const inFlight = Array.from({ length: 3 }, () => invoke(own.url, Buffer.from('x')));
    const inWorkers = async () =>
      total(parseSamples(await (await fetch(`${own.url}/metrics`)).text()), 'model_server_admission_slots_in_use');
    await waitFor(async () => (await inWorkers()) === 3, 10_000, 'three requests in the workers');
    own.child.kill('SIGTERM');
    await held.release();
    const answers = await Promise.all(inFlight.map(async (r) => [(await r).status, await (await r).text()]));
    assert.deepEqual(answers, Array(3).fill([200, 'done']));
    const code = await withDeadline(own.exited, 30_000);
    assert.equal(code, 0, own.output());
    await assert.rejects(fetch(`${own.url}/ping`), 'the port is closed');
  } finally {
    own.killAll();
  }
});

test("a worker whose event loop stops is replaced: serve's watchdog kills it and pm2 starts another", async () => {
  // A handler that never returns to the event loop for the body 'block'.
  const dir = await modelDirWithHandler(
    "exports.modelFn = () => ({});\nexports.transformFn = (model, body) => { while (String(body) === 'block'); return 'done'; };\n",
  );
  const own = await startHarness({ SM_MODEL_DIR: dir, SAGEMAKER_MODEL_SERVER_TIMEOUT: '2', SAGEMAKER_MODEL_SERVER_WORKERS: '1' });
  try {
    const [stuck] = workerPids(own);
    const blocked = await invoke(own.url, Buffer.from('block'));
    assert.equal(blocked.status, 504, 'nginx gives up on the stuck worker');
    // Stuck past the request timeout + 10 s, it is killed; pm2 starts another, which loads and listens.
    await waitFor(async () => (await invoke(own.url, Buffer.from('ok'))).status === 200, 40_000, 'a new worker answering', 500);
    const [replacement] = workerPids(own);
    assert.ok(replacement !== undefined && replacement !== stuck, `worker ${stuck} replaced by ${replacement}`);
    const killed = own
      .output()
      .split('\n')
      .filter((line) => line.includes('killing it for pm2 to restart'))
      .map((line) => JSON.parse(line) as { level: number; pid: number; stalledSeconds: number });
    assert.equal(killed.length, 1, own.output());
    assert.equal(killed[0]!.pid, stuck);
    assert.ok(killed[0]!.level === 50 && killed[0]!.stalledSeconds >= 12);
  } finally {
    own.killAll();
  }
});

test('a serve killed with SIGKILL takes nginx, pm2 and the workers with it: the port is free for the next one', async () => {
  // The archive, so that serve unpacks it (into its run dir).
  const own = await startServe({ SM_MODEL_DIR: SHIPPED_ARCHIVE });
  try {
    assert.equal(workerPids(own).length, 2);
    // serve alone: nginx and pm2 run in process groups of their own, ended by serve's death
    // (setpriv's parent-death signal); the workers, in pm2's groups, end when pm2 goes.
    own.child.kill('SIGKILL');
    await waitFor(async () => processesOfRun(own.tmpDir).length === 0, 30_000, 'every process of the run to exit').catch((error: Error) => {
      throw new Error(`${error.message}: ${processesOfRun(own.tmpDir).join('; ')}`);
    });
    await assert.rejects(fetch(`${own.url}/ping`), 'the port is closed');
    // Its run dir (the unpacked model in it) stays, for the next serve to start there to remove.
    const runDir = serveRunDir(own);
    assert.ok(
      readdirSync(runDir).some((entry) => entry.startsWith('model-')),
      'the unpacked model is in the run dir',
    );
    assert.deepEqual(removeStaleRunDirs(own.tmpDir), [path.basename(runDir)]);
  } finally {
    own.killAll();
  }
});

test('a worker whose pm2 is killed with SIGKILL exits by itself', async () => {
  const own = await startServe();
  const workers = workerPids(own);
  assert.equal(workers.length, 2);
  // The workers are in process groups of their own (pm2 starts them detached): only their
  // supervisor's going away can stop them. (killAll, used below to clean up, kills them too.)
  process.kill(parentPid(workers[0]!)!, 'SIGKILL');
  try {
    await waitFor(async () => !workers.some(isRunning), 15_000, 'the workers to exit');
  } finally {
    for (const pid of workers.filter(isRunning)) process.kill(pid, 'SIGKILL');
    own.killAll();
  }
});

test('a worker stuck in a handler exits with its pm2 too, though its event loop never sees the channel close', async () => {
  const spinning = path.join(await mkdtemp(path.join(os.tmpdir(), 'spin-')), 'spinning');
  const dir = await modelDirWithHandler(
    `exports.modelFn = () => ({});\nexports.transformFn = (model, body) => {\n  if (String(body) !== 'block') return 'done';\n  require('fs').writeFileSync(${JSON.stringify(spinning)}, '');\n  for (;;);\n};\n`,
  );
  // A watchdog slower than the test: only the tie to pm2 can end the stuck worker.
  const own = await startHarness({ SM_MODEL_DIR: dir, SAGEMAKER_MODEL_SERVER_TIMEOUT: '60', SAGEMAKER_MODEL_SERVER_WORKERS: '1' });
  const [stuck] = workerPids(own);
  try {
    assert.ok(stuck !== undefined);
    void invoke(own.url, Buffer.from('block')).catch(() => undefined);
    await waitFor(async () => existsSync(spinning), 15_000, 'the worker to spin in the handler');
    process.kill(parentPid(stuck)!, 'SIGKILL');
    await waitFor(async () => !isRunning(stuck), 15_000, 'the stuck worker to exit');
  } finally {
    if (stuck !== undefined && isRunning(stuck)) process.kill(stuck, 'SIGKILL');
    own.killAll();
  }
});

// The default (jemalloc, which .ci/run installs; glibc's where it is missing outside CI) and
// glibc's malloc, each through its own release.
const defaultAllocator = skipWithoutInstalled('libjemalloc2', () => installedJemalloc() !== undefined) ? 'glibc' : 'jemalloc';
for (const [malloc, allocator] of [
  ['auto', defaultAllocator],
  ['system', 'glibc'],
] as const) {
  test(`a worker gone idle after a burst collects its garbage and returns the freed C heap (MODEL_SERVER_MALLOC=${malloc})`, async () => {
    const own = await startServe({ LOG_LEVEL: 'debug', SAGEMAKER_MODEL_SERVER_WORKERS: '1', MODEL_SERVER_MALLOC: malloc });
    try {
      const trims = () =>
        own
          .output()
          .split('\n')
          .filter((line) => line.includes('idle: freed memory'))
          .map((line) => JSON.parse(line) as { rssMb: { before: number; after: number }; collected: boolean; allocator: string });
      // The first trim follows the model's load and warm-up.
      await waitFor(async () => trims().length >= 1, 15_000, 'the trim after the model load');
      const photo = await sharp(await sample('paper.jpg'))
        .resize(1920, 1080, { fit: 'cover' })
        .jpeg({ quality: 90 })
        .toBuffer();
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all([0, 1, 2, 3].map(() => invoke(own.url, photo)));
        assert.deepEqual(
          answers.map((res) => res.status),
          [200, 200, 200, 200],
        );
      }
      const seen = trims().length;
      await waitFor(async () => trims().length > seen, 15_000, 'the trim after the burst');
      const afterBurst = trims()[seen]!;
      // serve starts its workers with --expose-gc: the burst's buffers are freed, then released.
      // (A collection without the release gave back ~9 MB here with glibc; with it, ~28.)
      assert.equal(afterBurst.collected, true);
      assert.equal(afterBurst.allocator, allocator);
      assert.ok(afterBurst.rssMb.before - afterBurst.rssMb.after >= 15, JSON.stringify(afterBurst));
    } finally {
      own.killAll();
    }
  });
}

test('serve exits non-zero when nginx dies', async () => {
  const second = await startServe();
  try {
    const nginxPid = execFileSync('pgrep', ['-P', String(second.child.pid), '-x', 'nginx'])
      .toString()
      .trim();
    process.kill(Number(nginxPid), 'SIGKILL');
    const code = await withDeadline(second.exited, 20_000);
    assert.equal(code, 1, second.output());
  } finally {
    second.killAll();
  }
});

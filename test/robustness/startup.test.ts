import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { packDirectory } from '../../image_classification/model/pack';
import { serveRunDir, startServe, workerPids, type Served } from '../../harness/serve-process';
import { heldHandlerModel, modelDirWithHandler, ROOT, sample, shippedModelCopy, waitFor, withDeadline } from '../../harness/helpers';

/**
 * Start-up as a client and an orchestrator see it: 503 with Retry-After (never 502) until a
 * worker is ready, a load that never finishes becomes a reason on /ping (not a restart loop),
 * a dead inference thread of a handler's model restarts the worker, a bad nginx binary stops
 * serve, and a bad model archive leaves nothing behind.
 */

async function withServe(env: Record<string, string>, body: (served: Served) => Promise<void>): Promise<void> {
  const served = await startServe({ LOG_LEVEL: 'info', ...env }, { waitForPing: false });
  try {
    await body(served);
  } finally {
    served.killAll();
  }
}

const pingBody = async (served: Served) =>
  (await fetch(`${served.url}/ping`)).json() as Promise<{ status?: string; code?: string; reason?: string }>;

test(
  'while the workers load, /ping and /invocations are JSON 503s with Retry-After, never 502, and nginx logs no error',
  { timeout: 60_000 },
  async () => {
    // The model loads only once both kinds of request have been answered while loading.
    const held = await heldHandlerModel('load');
    await withServe({ SM_MODEL_DIR: held.dir }, async (served) => {
      const seen: { status: number; code?: string; retryAfter: string | null }[] = [];
      const image = await sample('glass.jpg');
      await waitFor(
        async () => {
          // One at a time: a request made ahead would have no handler for its failure meanwhile.
          for (const request of [
            () => fetch(`${served.url}/ping`),
            () => fetch(`${served.url}/invocations`, { method: 'POST', body: image, headers: { 'Content-Type': 'image/jpeg' } }),
          ]) {
            // nginx itself not listening yet, or (rarely) an idle keep-alive connection closed by
            // the reload that brings a worker in: no answer, so nothing to check.
            const res = await request().catch(() => undefined);
            if (!res) continue;
            const body = res.status === 200 ? {} : ((await res.json()) as { error?: { code?: string } });
            seen.push({ status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after') });
          }
          if (seen.length >= 2) await held.release();
          return seen.at(-1)?.status === 200;
        },
        30_000,
        'the workers to be ready',
      );
      const loading = seen.filter((s) => s.status !== 200);
      assert.ok(loading.length > 0, 'some requests came while loading');
      assert.deepEqual(
        [...new Set(loading.map((s) => `${s.status} ${s.code} retry-after ${s.retryAfter}`))],
        ['503 unavailable retry-after 1'],
      );
      // A loading worker is `down` in nginx's upstream until its socket answers: no refused connects.
      assert.doesNotMatch(served.output(), /\[(error|crit|alert|emerg)\]/);
    });
  },
);

for (const [hook, source] of [
  ['modelFn', 'exports.modelFn = () => new Promise(() => undefined); exports.transformFn = () => "";'],
  ['warmupFn', 'exports.warmupFn = () => new Promise(() => undefined);'],
] as const) {
  test(`a ${hook} that never settles fails /ping with load_timeout, without a restart loop`, { timeout: 60_000 }, async () => {
    await withServe({ SM_MODEL_DIR: await modelDirWithHandler(source), MODEL_SERVER_LOAD_TIMEOUT: '2' }, async (served) => {
      await waitFor(async () => (await pingBody(served)).code === 'load_timeout', 20_000, 'the load timeout on /ping');
      const pids = workerPids(served);
      await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual(workerPids(served), pids, 'the same workers, still up');
      const body = await pingBody(served);
      assert.equal(body.status, 'failed');
      assert.match(body.reason!, /did not load within 2 s/);
    });
  });
}

test("a handler model's inference thread that dies takes its worker down for pm2 to replace", { timeout: 60_000 }, async () => {
  const source = `
    const path = require('node:path');
    const { loadOnnxModel, ndarray } = require('sagemaker-image-classification');
    exports.modelFn = (dir) => loadOnnxModel(path.join(dir, 'model.onnx'));
    exports.transformFn = async (model, body) => {
      // A crash of the thread, as a native fault in ONNX Runtime would end it.
      if (body.toString() === 'crash') await model.thread.terminate();
      const out = await model.run({ input: ndarray('float32', [1, 3, 384, 384]) }, ['probabilities']);
      return JSON.stringify({ classes: out.probabilities.data.length });
    };`;
  await withServe({ SM_MODEL_DIR: await modelDirWithHandler(source) }, async (served) => {
    await waitFor(async () => (await fetch(`${served.url}/ping`)).status === 200, 30_000, 'serve /ping');
    const pids = workerPids(served);
    const invoke = (body: string) =>
      fetch(`${served.url}/invocations`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
    assert.equal((await invoke('hello')).status, 200);
    await invoke('crash').catch(() => undefined);
    await waitFor(
      async () => {
        const now = workerPids(served);
        return now.length === 2 && now.some((pid) => !pids.includes(pid));
      },
      20_000,
      'pm2 to replace the worker',
    );
    await waitFor(
      async () => (await invoke('hello')).status === 200 && (await invoke('hello')).status === 200,
      20_000,
      'both workers serving',
    );
    assert.match(served.output(), /inference thread died/);
  });
});

test('serve exits 1 when nginx cannot be started', { timeout: 30_000 }, async () => {
  const served = await startServe({ NGINX_BIN: '/nonexistent/nginx' }, { waitForPing: false });
  try {
    assert.equal(await withDeadline(served.exited, 20_000), 1);
  } finally {
    served.killAll();
  }
});

test('a model archive over MODEL_SERVER_MAX_MODEL_MB, or corrupt, is refused and leaves no temp dirs', { timeout: 60_000 }, async () => {
  const staging = await shippedModelCopy();
  await writeFile(path.join(staging, 'padding.bin'), Buffer.alloc(20 * 1024 * 1024));
  const bombDir = await mkdtemp(path.join(os.tmpdir(), 'bomb-model-'));
  await packDirectory(staging, path.join(bombDir, 'model.tar.gz'));
  const corruptDir = await mkdtemp(path.join(os.tmpdir(), 'corrupt-archive-'));
  await writeFile(path.join(corruptDir, 'model.tar.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(5000, 7)]));
  for (const [dir, reason] of [
    [bombDir, /more than 10485760 bytes/],
    [corruptDir, /is not a gzip stream/],
  ] as const) {
    await withServe({ SM_MODEL_DIR: dir, MODEL_SERVER_MAX_MODEL_MB: '10' }, async (served) => {
      // serve tries, and hands its failure to each worker: wait for both workers' failure lines.
      await waitFor(async () => (served.output().match(/model failed to load/g) ?? []).length === 2, 20_000, 'both workers to give up');
      // A failed worker opens its socket to say why; nginx routes to it once serve has seen it.
      // The answer that gave the reason is the one checked: the next may come from nginx itself
      // while it brings the other worker in.
      let body: Awaited<ReturnType<typeof pingBody>> = {};
      await waitFor(async () => (body = await pingBody(served)).reason !== undefined, 10_000, '/ping to give the reason');
      assert.match(body.reason!, reason);
      assert.doesNotMatch(body.reason!, new RegExp(os.tmpdir()), 'no absolute path');
      // serve tried and failed: it left no model-* dir (it unpacks into its run dir).
      const left = [...(await readdir(served.tmpDir)), ...(await readdir(serveRunDir(served)))];
      assert.deepEqual(
        left.filter((name) => name.startsWith('model-')),
        [],
      );
    });
  }
});

test("without SM_MODEL_DIR, a model serve cannot unpack: every worker reports serve's reason on /ping", { timeout: 60_000 }, async () => {
  // The model is found as it is on SageMaker, with no SM_MODEL_DIR: here the package's own
  // model/model.tar.gz, in a copy of the package whose archive is not gzip (/opt/ml/model, the
  // other way, takes the same path, but is not this test's to write).
  const optMlModel = '/opt/ml/model';
  assert.ok(!existsSync(optMlModel) || readdirSync(optMlModel).length === 0, `${optMlModel} holds a model on this machine`);
  const root = await mkdtemp(path.join(os.tmpdir(), 'package-copy-'));
  for (const entry of ['serve', 'package.json', 'nginx.conf', 'dist', 'web'])
    await cp(path.join(ROOT, entry), path.join(root, entry), { recursive: true });
  await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  await mkdir(path.join(root, 'model'));
  await writeFile(path.join(root, 'model', 'model.tar.gz'), 'not a gzip stream');
  assert.equal(process.env.SM_MODEL_DIR, undefined, 'serve inherits no SM_MODEL_DIR');
  const served = await startServe({ LOG_LEVEL: 'info' }, { waitForPing: false, root });
  try {
    await waitFor(async () => (served.output().match(/model failed to load/g) ?? []).length === 2, 20_000, 'both workers to give up');
    let body: Awaited<ReturnType<typeof pingBody>> = {};
    await waitFor(async () => (body = await pingBody(served)).reason !== undefined, 10_000, '/ping to give the reason');
    assert.equal(body.code, 'model_archive_invalid', JSON.stringify(body));
    assert.match(body.reason!, /model\.tar\.gz was refused/);
  } finally {
    served.killAll();
  }
});

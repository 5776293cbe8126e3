import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServe, workerPids, workerSockets, type Served } from '../../harness/serve-process';
import { formatResult, runHostileCase, WORKER_RSS_BOUND_MB } from '../../harness/hostile/hostile';
import { hostileModelsRoot, versionedHandler, type HostileModelsRoot } from '../../harness/hostile/hostile-models';
import { buildMultiModelCases, multiModelServeEnv } from '../../harness/hostile/multi-model-cases';

/**
 * Hostile models and bodies on a multi-model endpoint through real nginx + pm2 (2 workers):
 * each case's status and error code, its own bounds (time to answer, the right model, nothing
 * left behind), a worker's own /ping within 1 s meanwhile, worker RSS at most
 * WORKER_RSS_BOUND_MB, and no worker restarted except by the case that kills one.
 */

let models: HostileModelsRoot;
let served: Served;
before(async () => {
  models = await hostileModelsRoot();
  served = await startServe({ ...multiModelServeEnv(models.root), LOG_LEVEL: 'warn' });
});
after(async () => {
  served?.killAll();
  await models?.remove();
});

test('hostile models and bodies on a multi-model endpoint: refused or served within bounds', { timeout: 300_000 }, async () => {
  const sockets = workerSockets(served);
  const problems: string[] = [];
  for (const c of await buildMultiModelCases(models)) {
    const pidsBefore = workerPids(served);
    const result = await runHostileCase(served, sockets, c);
    console.log(formatResult(result));
    if (result.problem) problems.push(`${c.name}: ${result.problem}`);
    if (result.rssPeakMb > WORKER_RSS_BOUND_MB) problems.push(`${c.name}: a worker held ${result.rssPeakMb} MB`);
    if (c.name.includes('kills its worker')) continue;
    if (result.pingMaxMs >= 1000) problems.push(`${c.name}: a worker's /ping took ${result.pingMaxMs} ms`);
    const pidsAfter = workerPids(served);
    if (pidsAfter.join() !== pidsBefore.join()) problems.push(`${c.name}: a worker restarted (workers ${pidsBefore} → ${pidsAfter})`);
  }
  assert.deepEqual(problems, []);
});

test('SIGTERM during a load: the load is answered at once, serve exits', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'models-sigterm-'));
  await mkdir(path.join(root, 'warming', 'code'), { recursive: true });
  await writeFile(
    path.join(root, 'warming', 'code', 'inference.js'),
    `${versionedHandler(1)}exports.warmupFn = () => new Promise((r) => setTimeout(r, 60000));\n`,
  );
  const stopping = await startServe({ ...multiModelServeEnv(root), LOG_LEVEL: 'warn' });
  try {
    const loading = fetch(`${stopping.url}/models`, {
      method: 'POST',
      body: JSON.stringify({ model_name: 'warming', url: 'warming' }),
      headers: { 'Content-Type': 'application/json' },
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const signalled = performance.now();
    process.kill(stopping.child.pid!, 'SIGTERM');
    const answer = await loading;
    assert.equal(answer.status, 503);
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'unavailable');
    assert.ok(performance.now() - signalled < 10_000, 'the load answered within 10 s of SIGTERM');
    await stopping.exited;
    assert.ok(performance.now() - signalled < 60_000, 'serve exited within 60 s of SIGTERM');
  } finally {
    stopping.killAll();
    await rm(root, { recursive: true, force: true });
  }
});

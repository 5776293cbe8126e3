import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { unpackArchive } from '../../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../../harness/helpers';
import { startServe, workerPids, workerSockets, type Served } from '../../harness/serve-process';
import { formatResult, runHostileCase, WORKER_RSS_BOUND_MB } from '../../harness/hostile/hostile';
import { buildHostileCases, HOSTILE_SERVE_ENV } from '../../harness/hostile/hostile-cases';

/**
 * Hostile shapes through real nginx + pm2 workers with the default settings (but a 5 s request
 * timeout). For each: the expected status and JSON error code, a worker's own /ping answered
 * within 1 s while the request was in flight (a blocked event loop would take seconds), worker
 * RSS at most WORKER_RSS_BOUND_MB at its peak during it, and no worker restarted.
 */

let served: Served;
let sockets: string[];
before(async () => {
  served = await startServe({ SM_MODEL_DIR: await unpackArchive(SHIPPED_ARCHIVE), ...HOSTILE_SERVE_ENV });
  sockets = workerSockets(served);
});
after(() => served.killAll());

test('hostile requests: answered as expected, /ping responsive meanwhile, memory bounded, no restarts', { timeout: 300_000 }, async () => {
  const cases = await buildHostileCases();
  const pidsBefore = workerPids(served);
  const problems: string[] = [];
  for (const c of cases) {
    const result = await runHostileCase(served, sockets, c);
    console.log(formatResult(result));
    if (result.problem) problems.push(`${c.name}: ${result.problem}`);
    if (result.pingMaxMs >= 1000) problems.push(`${c.name}: a worker's /ping took ${result.pingMaxMs} ms`);
    if (result.rssPeakMb > WORKER_RSS_BOUND_MB) problems.push(`${c.name}: a worker held ${result.rssPeakMb} MB`);
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(workerPids(served), pidsBefore, 'no worker died or was restarted');
});

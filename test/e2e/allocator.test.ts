import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { findJemalloc } from '../../image_classification/allocator';
import { startServe, workerPids } from '../../harness/serve-process';

const jemalloc = findJemalloc();
// CI installs libjemalloc2 (.ci/run): there a missing library is a failure, not a skip.
const missing = !jemalloc && process.env.CI !== 'true' ? 'libjemalloc2 is not installed' : false;

const mapsJemalloc = (pid: number) => readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libjemalloc');

test('serve preloads jemalloc into its workers when installed, and not with MODEL_SERVER_ALLOCATOR=system', { skip: missing }, async () => {
  assert.ok(jemalloc, 'libjemalloc.so.2 must be installed (Debian: libjemalloc2)');
  for (const [env, expected] of [
    [{}, true],
    [{ MODEL_SERVER_ALLOCATOR: 'system' }, false],
  ] as const) {
    const served = await startServe(env);
    try {
      const pids = workerPids(served);
      assert.equal(pids.length, 2);
      for (const pid of pids) assert.equal(mapsJemalloc(pid), expected, `worker ${pid} with ${JSON.stringify(env)}`);
      assert.equal(mapsJemalloc(served.child.pid!), false, 'serve itself keeps the C library malloc');
      assert.equal((await fetch(`${served.url}/ping`)).status, 200);
    } finally {
      served.killAll();
    }
  }
});

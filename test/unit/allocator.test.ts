import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { installedJemalloc, workerPreload } from '../../image_classification/allocator';
import { loadConfig } from '../../image_classification/config';
import { ConfigError } from '../../image_classification/errors';
import { workerRuntimeEnv } from '../../image_classification/worker-env';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

test('the workers get jemalloc when it is installed, unless MODEL_SERVER_MALLOC says otherwise', () => {
  assert.equal(workerPreload('auto', JEMALLOC), JEMALLOC);
  assert.equal(workerPreload('auto', undefined), undefined, 'no jemalloc: the C library malloc');
  assert.equal(workerPreload('jemalloc', JEMALLOC), JEMALLOC);
  assert.equal(workerPreload('system', JEMALLOC), undefined);
  assert.throws(() => workerPreload('jemalloc', undefined), ConfigError, 'asked for and missing: refuse to start');
  assert.throws(() => loadConfig({ MODEL_SERVER_MALLOC: 'tcmalloc' }), /malloc/);
  assert.equal(loadConfig({ MODEL_SERVER_MALLOC: 'System' }).mallocPreload, undefined);
  assert.equal(loadConfig({}).mallocPreload, installedJemalloc());
});

test('the preload goes before an LD_PRELOAD the environment already has, and is absent without one', () => {
  assert.equal(workerRuntimeEnv({ LD_PRELOAD: '/opt/trace.so' }, JEMALLOC).LD_PRELOAD, `${JEMALLOC} /opt/trace.so`);
  assert.equal(workerRuntimeEnv({}, JEMALLOC).LD_PRELOAD, JEMALLOC);
  assert.equal('LD_PRELOAD' in workerRuntimeEnv({ LD_PRELOAD: '/opt/trace.so' }), false, 'left to the inherited environment');
});

// .ci/run installs libjemalloc2: the default path must be exercised there, not skipped.
test(
  'where jemalloc is installed, a process it is preloaded into releases its freed pages through it',
  {
    skip: !installedJemalloc() && process.env.CI !== 'true' && 'libjemalloc2 is not installed (.ci/run installs it)',
  },
  () => {
    const jemalloc = installedJemalloc();
    assert.ok(jemalloc, 'libjemalloc2 is installed');
    // A child with jemalloc preloaded: the release is jemalloc's purge, and it gives back the
    // pages of 200 MB of freed buffers.
    const script = `
    const { loadMemoryRelease } = require(${JSON.stringify(require.resolve('../../image_classification/allocator'))});
    (async () => {
      const memory = await loadMemoryRelease();
      let held = Array.from({ length: 200 }, () => Buffer.alloc(2 ** 20, 1));
      held = undefined;
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = process.memoryUsage.rss();
      memory.release();
      process.stdout.write(JSON.stringify({ allocator: memory.allocator, freedMb: (before - process.memoryUsage.rss()) / 2 ** 20 }));
    })();`;
    const run = (env: Record<string, string>) => {
      const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as { allocator: string; freedMb: number };
    };
    const withJemalloc = run({ LD_PRELOAD: jemalloc });
    assert.equal(withJemalloc.allocator, 'jemalloc');
    assert.ok(withJemalloc.freedMb >= 50, JSON.stringify(withJemalloc));
    assert.equal(run({ LD_PRELOAD: '' }).allocator, 'glibc');
  },
);

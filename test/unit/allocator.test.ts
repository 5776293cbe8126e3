import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { installedJemalloc, JEMALLOC_PATHS, workerPreload } from '../../image_classification/allocator';
import { loadConfig } from '../../image_classification/config';
import { ConfigError } from '../../image_classification/errors';
import { workerRuntimeEnv } from '../../image_classification/worker-env';
import { skipWithoutInstalled } from '../../harness/helpers';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

test('the workers get jemalloc when it is installed, unless MODEL_SERVER_MALLOC says otherwise', () => {
  assert.equal(workerPreload('auto', JEMALLOC), JEMALLOC);
  assert.equal(workerPreload('auto', undefined), undefined, 'no jemalloc: the C library malloc');
  assert.equal(workerPreload('jemalloc', JEMALLOC), JEMALLOC);
  assert.equal(workerPreload('system', JEMALLOC), undefined);
  assert.throws(() => workerPreload('jemalloc', undefined), ConfigError, 'asked for and missing: refuse to start');
  assert.throws(() => loadConfig({ MODEL_SERVER_MALLOC: 'tcmalloc' }), /malloc/);
  assert.equal(loadConfig({ MODEL_SERVER_MALLOC: 'System' }).mallocPreload, undefined);
});

test("with auto, an operator's own LD_PRELOAD is left alone; an explicit jemalloc goes before it", () => {
  assert.equal(workerPreload('auto', JEMALLOC, '/usr/lib/libtcmalloc.so.4'), undefined);
  assert.equal(workerPreload('auto', JEMALLOC, ' '), JEMALLOC, 'a blank LD_PRELOAD is unset');
  assert.equal(workerPreload('jemalloc', JEMALLOC, '/usr/lib/libtcmalloc.so.4'), JEMALLOC);
  assert.equal(loadConfig({ LD_PRELOAD: '/usr/lib/libtcmalloc.so.4' }).mallocPreload, undefined);
  assert.equal(workerRuntimeEnv({ LD_PRELOAD: '/opt/trace.so' }, JEMALLOC).LD_PRELOAD, `${JEMALLOC} /opt/trace.so`);
  assert.equal(workerRuntimeEnv({}, JEMALLOC).LD_PRELOAD, JEMALLOC);
  assert.equal('LD_PRELOAD' in workerRuntimeEnv({ LD_PRELOAD: '/opt/trace.so' }), false, 'left to the inherited environment');
});

test("the preload is this CPU's library: no other architecture's directory is looked in", () => {
  const other = process.arch === 'arm64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
  assert.ok(JEMALLOC_PATHS.length > 0 && JEMALLOC_PATHS.every((file) => !file.includes(other)), JEMALLOC_PATHS.join(', '));
});

// .ci/run installs libjemalloc2: the default path must be exercised there, not skipped.
test(
  'where jemalloc is installed, a process it is preloaded into releases its freed pages through it',
  {
    skip: skipWithoutInstalled('libjemalloc2', () => installedJemalloc() !== undefined),
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
      // V8 frees the buffers on a background thread: wait for it (3 s at most).
      for (let i = 0; i < 150 && process.memoryUsage().arrayBuffers > 20 * 2 ** 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const before = process.memoryUsage.rss();
      const released = memory.release();
      process.stdout.write(JSON.stringify({ allocator: memory.allocator, released, freedMb: (before - process.memoryUsage.rss()) / 2 ** 20 }));
    })();`;
    const run = (env: Record<string, string>) => {
      const child = spawnSync(process.execPath, ['--expose-gc', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as { allocator: string; released: boolean; freedMb: number };
    };
    const withJemalloc = run({ LD_PRELOAD: jemalloc });
    assert.equal(withJemalloc.allocator, 'jemalloc');
    assert.equal(withJemalloc.released, true, 'mallctl accepted the purge of every arena');
    assert.ok(withJemalloc.freedMb >= 50, JSON.stringify(withJemalloc));
    assert.equal(run({ LD_PRELOAD: '' }).allocator, 'glibc');
  },
);

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryShortfall, SUPERVISORS_MB, WORKER_PEAK_MB } from '../../image_classification/memory-fit';

const MB = 1024 * 1024;

test("the workers' peak memory against a container's limit: reported only when it does not fit, with the count that does", () => {
  // No limit: libuv reports 0, or the cgroup's "max" as a number near 2^64 (2^63 on cgroup v1).
  for (const none of [0, 2 ** 64, 9223372036854771712]) assert.equal(memoryShortfall(8, none), undefined);
  // The Kubernetes manifests: 2 workers in 2 GiB fit.
  assert.equal(memoryShortfall(2, 2048 * MB), undefined);
  assert.equal(memoryShortfall(2, (2 * WORKER_PEAK_MB + SUPERVISORS_MB) * MB), undefined);
  assert.deepEqual(memoryShortfall(2, 1024 * MB), { workers: 2, peakMb: 1800, limitMb: 1024, fittingWorkers: 1 });
  assert.deepEqual(memoryShortfall(8, 4096 * MB), { workers: 8, peakMb: 6600, limitMb: 4096, fittingWorkers: 4 });
  // Below one worker's peak it still says 1: the one worker has to run.
  assert.equal(memoryShortfall(2, 512 * MB)!.fittingWorkers, 1);
});

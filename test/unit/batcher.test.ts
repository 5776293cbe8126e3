import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamicBatcher } from '../../image_classification/runtime/batcher';

/** A fake inference run (the batcher is pure scheduling): records batch sizes, echoes each image's first value. */
function recorder(delayMs = 5) {
  const batches: number[] = [];
  const run = async (parts: Float32Array[], count: number) => {
    batches.push(count);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const values = parts.flatMap((part) => Array.from(part));
    return { rows: Array.from({ length: count }, (_, i) => Float32Array.of(values[i]!)), runSeconds: delayMs / 1000 };
  };
  return { batches, run };
}

const image = (value: number, count = 1) => new Float32Array(count).fill(value);

test('a lone request runs at once, even with a max delay configured', async () => {
  const { batches, run } = recorder();
  const batcher = new DynamicBatcher(run, { maxBatchSize: 8, maxDelayMs: 1000 });
  const started = performance.now();
  const [row] = (await batcher.submit(image(7), 1)).rows;
  assert.equal(row![0], 7);
  assert.ok(performance.now() - started < 500, 'did not wait for the max delay');
  assert.deepEqual(batches, [1]);
});

test('requests that arrive while a batch runs are gathered into the next one, up to the max', async () => {
  const { batches, run } = recorder(20);
  const batcher = new DynamicBatcher(run, { maxBatchSize: 4, maxDelayMs: 0 });
  const results = await Promise.all(Array.from({ length: 7 }, (_, i) => batcher.submit(image(i), 1)));
  assert.deepEqual(
    results.map(({ rows: [row] }) => row![0]),
    [0, 1, 2, 3, 4, 5, 6],
    'each request gets its own row back',
  );
  assert.deepEqual(batches, [1, 4, 2]);
});

test('each job learns its run time and how long it waited before its run', async () => {
  const { run } = recorder(30);
  const batcher = new DynamicBatcher(run, { maxBatchSize: 1, maxDelayMs: 0 });
  const [first, second] = await Promise.all([batcher.submit(image(1), 1), batcher.submit(image(2), 1)]);
  assert.deepEqual([first.runSeconds, second.runSeconds], [0.03, 0.03]);
  // The second waited for the whole first run (timers never fire early by more than a ms).
  assert.ok(second.queueSeconds >= 0.025, `queued ${second.queueSeconds} s behind a 30 ms run`);
  assert.ok(first.queueSeconds < second.queueSeconds);
});

test('a lone request, announced then submitted, does not wait for the max delay', async () => {
  const { batches, run } = recorder();
  const batcher = new DynamicBatcher(run, { maxBatchSize: 4, maxDelayMs: 1000 });
  const started = performance.now();
  await batcher.expect(1).submit(image(1));
  assert.ok(performance.now() - started < 500);
  assert.deepEqual(batches, [1]);
});

test('multi-image jobs stay whole; no run ever exceeds the batch size', async () => {
  const { batches, run } = recorder(10);
  const batcher = new DynamicBatcher(run, { maxBatchSize: 4, maxDelayMs: 0 });
  const [first, big, small] = await Promise.all([
    batcher.submit(image(1), 1),
    batcher.submit(image(2, 3), 3),
    batcher.submit(image(3, 2), 2),
  ]);
  assert.deepEqual([first.rows.length, big.rows.length, small.rows.length], [1, 3, 2]);
  assert.deepEqual(batches, [1, 3, 2]);
  assert.throws(() => batcher.submit(image(4, 5), 5), RangeError, 'a caller must split a job larger than the batch size');
});

test('a queued job whose signal aborts leaves the queue unrun; the running one finishes', async () => {
  const { batches, run } = recorder(30);
  const batcher = new DynamicBatcher(run, { maxBatchSize: 1, maxDelayMs: 0 });
  const controller = new AbortController();
  const running = batcher.submit(image(1), 1, controller.signal);
  const queued = batcher.submit(image(2), 1, controller.signal);
  const other = batcher.submit(image(3), 1);
  controller.abort(new Error('gone'));
  await assert.rejects(queued, /gone/);
  assert.equal((await running).rows[0]![0], 1, 'the run already started completes');
  assert.equal((await other).rows[0]![0], 3);
  assert.deepEqual(batches, [1, 1], 'the withdrawn job never ran');
  await assert.rejects(batcher.submit(image(4), 1, controller.signal), /gone/, 'an already aborted job is refused');
});

test('while images are still decoding, an idle batcher waits up to the max delay for them', async () => {
  const { batches, run } = recorder(1);
  const batcher = new DynamicBatcher(run, { maxBatchSize: 8, maxDelayMs: 50 });
  const first = batcher.expect(1);
  const second = batcher.expect(1);
  const third = batcher.expect(1);
  const a = first.submit(image(1));
  await new Promise((resolve) => setTimeout(resolve, 10));
  const b = second.submit(image(2));
  third.cancel(); // its decode failed: nothing more to wait for
  await Promise.all([a, b]);
  assert.deepEqual(batches, [2], 'the first waited for the second instead of running alone');
});

test('a failed run rejects every request in it, and the next batch still runs', async () => {
  let calls = 0;
  const batcher = new DynamicBatcher(
    async (_parts, count) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (calls === 2) throw new Error('boom');
      return { rows: Array.from({ length: count }, () => Float32Array.of(0)), runSeconds: 0 };
    },
    { maxBatchSize: 4, maxDelayMs: 0 },
  );
  const first = batcher.submit(image(0), 1);
  const failing = [batcher.submit(image(1), 1), batcher.submit(image(2), 1)];
  await first;
  for (const request of failing) await assert.rejects(request, /boom/);
  assert.equal((await batcher.submit(image(3), 1)).rows.length, 1);
});

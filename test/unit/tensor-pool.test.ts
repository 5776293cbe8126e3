import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TensorPool } from '../../image_classification/runtime/tensor-pool';

test('a buffer given back is the next one taken of its length; other lengths get their own', async () => {
  const pool = new TensorPool(4);
  const first = await pool.take(12);
  assert.equal(first.length, 12);
  pool.give(first);
  assert.equal(await pool.take(12), first, 'reused, not reallocated');
  assert.notEqual(await pool.take(12), first, 'taken once: the pool no longer holds it');
  pool.give(first);
  const other = await pool.take(8);
  assert.notEqual(other, first, 'a different length never gets it');
  assert.equal(other.length, 8);
});

test('at most `slots` buffers are out: the next take waits for a give, in order, and an abort leaves the line', async () => {
  const pool = new TensorPool(2);
  const [a, b] = [await pool.take(4), await pool.take(4)];
  assert.equal(pool.inUse, 2);
  assert.ok(pool.full, 'the next take would wait');
  const order: string[] = [];
  const waiting = pool.take(4).then((buffer) => {
    order.push('first waiter');
    return buffer;
  });
  const controller = new AbortController();
  const abandoned = pool.take(4, controller.signal);
  const last = pool.take(4).then(() => order.push('second waiter'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, [], 'nobody gets a third slot');
  controller.abort(new Error('client left'));
  await assert.rejects(abandoned, /client left/);
  pool.give(a);
  assert.equal(await waiting, a, 'the freed buffer goes to the first in line');
  pool.give(b);
  await last;
  assert.deepEqual(order, ['first waiter', 'second waiter']);
  assert.equal(pool.inUse, 2, 'slots passed on, never more than two out');
});

test('a buffer sent away (detached) is not counted back; a view is counted but not kept', async () => {
  const pool = new TensorPool(1);
  const sent = await pool.take(4);
  structuredClone(sent.buffer, { transfer: [sent.buffer as ArrayBuffer] });
  pool.give(sent);
  assert.equal(pool.inUse, 1, 'the thread gives it back, not the sender');
  pool.give(new Float32Array(4));
  assert.equal(pool.inUse, 0);
  const view = (await pool.take(4), new Float32Array(16).subarray(0, 4));
  pool.give(view);
  const next = await pool.take(4);
  assert.notEqual(next.buffer, view.buffer, 'a view into a larger buffer is never handed out');
});

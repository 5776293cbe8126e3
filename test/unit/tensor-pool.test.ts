import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TensorPool } from '../../image_classification/runtime/tensor-pool';

test('a buffer given back is the next one taken of its length; other lengths get their own', () => {
  const pool = new TensorPool(2);
  const first = pool.take(12);
  assert.equal(first.length, 12);
  pool.give(first);
  assert.equal(pool.take(12), first, 'reused, not reallocated');
  assert.notEqual(pool.take(12), first, 'taken once: the pool no longer holds it');
  pool.give(first);
  assert.notEqual(pool.take(8), first, 'a different length never gets it');
  assert.equal(pool.take(8).length, 8);
});

test('the pool keeps at most its size per length, and ignores views and detached buffers', () => {
  const pool = new TensorPool(2);
  const buffers = [pool.take(4), pool.take(4), pool.take(4)];
  for (const buffer of buffers) pool.give(buffer);
  const kept = [pool.take(4), pool.take(4), pool.take(4)];
  assert.equal(kept.filter((b) => buffers.includes(b)).length, 2, 'only two were kept');

  const shared = new Float32Array(16);
  pool.give(shared.subarray(0, 4));
  assert.ok(!buffers.includes(pool.take(4)) && pool.take(4).buffer !== shared.buffer, 'a view into a larger buffer is not pooled');

  const detached = pool.take(4);
  structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] });
  pool.give(detached);
  assert.equal(pool.take(4).length, 4, 'a detached buffer is never handed out');
});

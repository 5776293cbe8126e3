import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { decodeNpz } from '../../image_classification/codecs/npz';
import { BadRequestError } from '../../image_classification/errors';
import { npyWithHeader } from '../../harness/hostile/hostile-bodies';

/** The README's "64 members per NPZ": an archive at the limit and one over it. */
const archive = (members: number) => {
  const one = npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4));
  return Buffer.from(zipSync(Object.fromEntries(Array.from({ length: members }, (_, i) => [`t${i}.npy`, new Uint8Array(one)]))));
};

test('an NPZ of 64 members is read; 65 are refused as invalid_npz', async () => {
  assert.equal((await decodeNpz(archive(64))).size, 64);
  await assert.rejects(decodeNpz(archive(65)), (error: unknown) => error instanceof BadRequestError && error.code === 'invalid_npz');
});

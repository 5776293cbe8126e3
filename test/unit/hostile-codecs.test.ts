import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBody } from '../../image_classification/codecs/input';
import { MAX_NPY_HEADER_BYTES, MAX_NPZ_UNPACKED_BYTES, MAX_TENSOR_DIMS } from '../../image_classification/codecs/limits';
import { toNumbers } from '../../image_classification/codecs/ndarray';
import { decodeNpy } from '../../image_classification/codecs/npy';
import { decodeNpz } from '../../image_classification/codecs/npz';
import { decodeCsv } from '../../image_classification/codecs/csv';
import { BadRequestError, errorBody } from '../../image_classification/errors';
import {
  deepJson,
  npyManyUnitDims,
  npyRepeatedShapeKey,
  npyWithHeader,
  npzDeclaring,
  npzLyingAboutSize,
  zip64ClaimingEntries,
} from '../../harness/hostile/hostile-bodies';

/**
 * Bodies that claim more than they are. Unbounded, each would freeze a worker's event loop for
 * seconds to minutes or crash it; each must be a 400 decided by the limits in codecs/limits.ts.
 * No timing is asserted here (the hostile suite measures /ping while they run): a quadratic
 * parse would simply not finish within the test's timeout.
 */

const refusedWith = (code: string, pattern?: RegExp) => (error: unknown) =>
  error instanceof BadRequestError && error.code === code && (!pattern || pattern.test(error.message));

test('NPY: an oversized header is refused unread, a repetitive one within the limit parses linearly', { timeout: 10_000 }, () => {
  assert.throws(() => decodeNpy(npyRepeatedShapeKey(320_000)), refusedWith('invalid_npy', /header is \d+ bytes/));
  // Just under the limit: repeated keys, never closed; a backtracking parser is quadratic here.
  assert.throws(
    () => decodeNpy(npyRepeatedShapeKey(MAX_NPY_HEADER_BYTES - 100)),
    refusedWith('invalid_npy', /lacks fortran_order or shape/),
  );
});

test('NPY: more dimensions than numpy allows are refused; 64 unit axes in Fortran order decode', { timeout: 10_000 }, () => {
  assert.throws(() => decodeNpy(npyManyUnitDims(96_000)), refusedWith('invalid_npy'));
  assert.throws(() => decodeNpy(npyManyUnitDims(MAX_TENSOR_DIMS + 1)), refusedWith('invalid_npy', /dimensions/));
  const deepest = decodeNpy(npyManyUnitDims(MAX_TENSOR_DIMS));
  assert.equal(deepest.shape.length, MAX_TENSOR_DIMS);
});

test('NPY: Fortran order with unit axes is reordered exactly', () => {
  // shape (2, 1, 3) in Fortran order: the values are stored column-major.
  const fortran = Float32Array.from([0, 3, 1, 4, 2, 5]);
  const array = decodeNpy(npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1, 3), }", Buffer.from(fortran.buffer)));
  assert.deepEqual(toNumbers(array), [0, 1, 2, 3, 4, 5]);
});

test('NPZ: a zip64 record claiming millions of members is refused from its directory', { timeout: 10_000 }, async () => {
  await assert.rejects(decodeNpz(zip64ClaimingEntries(10_000_000)), refusedWith('invalid_npz', /members/));
});

test('NPZ: inflation is capped by the bytes produced, not the size a member declares', { timeout: 30_000 }, async () => {
  // Stopped within the first inflated chunk past the 128 bytes it declared.
  await assert.rejects(decodeNpz(await npzLyingAboutSize(256 * 1024 * 1024)), refusedWith('invalid_npz', /too many bytes/));
  await assert.rejects(decodeNpz(await npzDeclaring(MAX_NPZ_UNPACKED_BYTES + 1)), refusedWith('tensor_too_large'));
});

test('JSON: a tensor nested 5,000 deep is a 400, not a stack overflow', async () => {
  await assert.rejects(decodeBody(deepJson(5000), 'application/json'), refusedWith('invalid_json', /nested more than/));
});

test('errors quote a client value briefly: a 1 MB CSV cell is not echoed back', () => {
  const cell = 'x'.repeat(1024 * 1024);
  let caught: unknown;
  try {
    decodeCsv(Buffer.from(`1,${cell}\n`));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BadRequestError);
  const body = JSON.stringify(errorBody(caught));
  assert.ok(body.length < 300, `error body is ${body.length} bytes`);
});

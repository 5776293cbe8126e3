import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { zipSync } from 'fflate';
import { decodeCsv, encodeCsv } from '../../image_classification/codecs/csv';
import { decodeBody } from '../../image_classification/codecs/input';
import { fromNested, ndarray, toNested, toNumbers } from '../../image_classification/codecs/ndarray';
import { decodeNpy, encodeNpy } from '../../image_classification/codecs/npy';
import { decodeNpz } from '../../image_classification/codecs/npz';
import { BadRequestError } from '../../image_classification/errors';
import { ROOT } from '../../harness/helpers';

/** Written by NumPy (test/fixtures/npy/make.py); numeric ones hold arange(24) as (2, 3, 4). */
const fixture = (name: string) => readFile(path.join(ROOT, 'test', 'fixtures', 'npy', name));
const ARANGE = Array.from({ length: 24 }, (_, i) => i);

const rejectsWith = (code: string) => (error: unknown) => error instanceof BadRequestError && error.code === code;

test('NPY written by NumPy: versions 1-3, both byte orders, C and Fortran order', async () => {
  const cases = [
    ['f4_c_v1.npy', 'float32'],
    ['f8_big_fortran_v1.npy', 'float64'],
    ['i8_v2.npy', 'int64'],
    ['u2_big_v3.npy', 'uint16'],
  ] as const;
  for (const [name, dtype] of cases) {
    const array = decodeNpy(await fixture(name));
    assert.equal(array.dtype, dtype, name);
    assert.deepEqual(array.shape, [2, 3, 4], name);
    assert.deepEqual(toNumbers(array), ARANGE, name);
  }
  assert.deepEqual(toNumbers(decodeNpy(await fixture('i4_1d.npy'))), [0, 1, 2, 3, 4]);
  const bools = decodeNpy(await fixture('bool.npy'));
  assert.equal(bools.dtype, 'bool');
  assert.deepEqual(toNumbers(bools), [1, 0, 1]);
});

test('NPY round-trips through the encoder, and NumPy-style headers align the data to 64 bytes', async () => {
  for (const array of [
    ndarray('float32', [2, 3], Float32Array.from([1.5, -2, 3, 4, 5, 6])),
    ndarray('int64', [3], BigInt64Array.from([1n, -2n, 3n])),
    ndarray('uint8', [2, 1, 2], Uint8Array.from([1, 2, 3, 4])),
    ndarray('float64', [], Float64Array.from([7])),
  ]) {
    const encoded = encodeNpy(array);
    assert.equal((10 + encoded.readUInt16LE(8)) % 64, 0);
    const decoded = decodeNpy(encoded);
    assert.deepEqual([decoded.dtype, decoded.shape, toNumbers(decoded)], [array.dtype, array.shape, toNumbers(array)]);
  }
  // What NumPy wrote decodes to what the encoder writes back, byte for byte.
  const numpy = await fixture('f4_c_v1.npy');
  assert.deepEqual(encodeNpy(decodeNpy(numpy)), numpy);
});

test('NPY: object arrays (pickles) are refused, unsupported dtypes and malformed bodies are 400s', async () => {
  assert.throws(() => decodeNpy(Buffer.alloc(0)), rejectsWith('invalid_npy'));
  assert.throws(() => decodeNpy(Buffer.from('not an npy at all')), rejectsWith('invalid_npy'));
  assert.throws(() => decodeNpy(Buffer.from('\x93NUMPY\x09\x00', 'latin1')), rejectsWith('invalid_npy'));
  const [object, structured, half] = await Promise.all(['object.npy', 'structured.npy', 'f2.npy'].map(fixture));
  assert.throws(() => decodeNpy(object!), rejectsWith('npy_object_refused'));
  assert.throws(() => decodeNpy(structured!), rejectsWith('unsupported_dtype'));
  assert.throws(() => decodeNpy(half!), rejectsWith('unsupported_dtype'));
  const good = await fixture('f4_c_v1.npy');
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 1)), rejectsWith('invalid_npy'), 'truncated data');
  assert.throws(() => decodeNpy(good.subarray(0, 40)), rejectsWith('invalid_npy'), 'truncated header');
  assert.throws(() => decodeNpy(Buffer.concat([good, Buffer.alloc(4)])), rejectsWith('invalid_npy'), 'trailing bytes');
  const huge = Buffer.from(good.toString('latin1').replace('(2, 3, 4)', '(9999999, 99999)'), 'latin1');
  assert.throws(() => decodeNpy(huge), rejectsWith('tensor_too_large'));
});

test('NPZ: stored and deflated archives from NumPy; bad archives are 400s', async () => {
  const two = await decodeNpz(await fixture('two.npz'));
  assert.deepEqual([...two.keys()], ['first', 'second']);
  assert.deepEqual(toNumbers(two.get('first')!), ARANGE);
  assert.deepEqual(toNumbers(two.get('second')!), [0, 1, 2]);
  const compressed = await decodeNpz(await fixture('compressed.npz'));
  assert.deepEqual(compressed.get('input')!.shape, [2, 3, 4]);
  await assert.rejects(decodeNpz(Buffer.from('PK not really')), rejectsWith('invalid_npz'));
  await assert.rejects(decodeNpz(Buffer.from(zipSync({ 'readme.txt': Buffer.from('hi') }))), rejectsWith('invalid_npz'));
  const pickled = Buffer.from(zipSync({ 'x.npy': await fixture('object.npy') }));
  await assert.rejects(decodeNpz(pickled), rejectsWith('npy_object_refused'));
});

test('CSV tensors: rows x columns, round-trip, and malformed bodies', () => {
  const table = decodeCsv(Buffer.from('1,2,3\n4,5,6\n'));
  assert.deepEqual(
    [table.shape, toNumbers(table)],
    [
      [2, 3],
      [1, 2, 3, 4, 5, 6],
    ],
  );
  assert.deepEqual(decodeCsv(Buffer.from('1.5, -2e3\r\n')).shape, [2]);
  assert.equal(encodeCsv(table), '1,2,3\n4,5,6\n');
  assert.deepEqual(toNumbers(decodeCsv(Buffer.from(encodeCsv(table)))), toNumbers(table));
  for (const bad of ['1,2\n3\n', '1,abc\n', '1,,3\n', '"1,2\n', '\n\n']) {
    assert.throws(() => decodeCsv(Buffer.from(bad)), rejectsWith('invalid_csv'), JSON.stringify(bad));
  }
});

test('JSON tensors: nested lists, {"inputs"}, named inputs; ragged or non-numeric are 400s', async () => {
  assert.deepEqual(
    toNested(
      fromNested([
        [1, 2],
        [3, 4],
      ]),
    ),
    [
      [1, 2],
      [3, 4],
    ],
  );
  const body = (value: unknown) => decodeBody(Buffer.from(JSON.stringify(value)), 'application/json');
  const plain = await body([[1, 2, 3]]);
  assert.ok(plain.kind === 'tensors' && plain.tensors.get('')!.shape.join() === '1,3');
  const wrapped = await body({ inputs: [1, 2] });
  assert.ok(wrapped.kind === 'tensors' && wrapped.tensors.get('')!.shape.join() === '2');
  const named = await body({ inputs: { input: [[0.5]] } });
  assert.ok(named.kind === 'tensors' && named.tensors.has('input'));
  assert.equal((await body({ image: Buffer.from('x').toString('base64') })).kind, 'images');
  for (const bad of [[[1, 2], [3]], [[1, 'a']], [1, [2]], [[]], { inputs: {} }, [Number.MAX_VALUE * 10]]) {
    await assert.rejects(body(bad), BadRequestError, JSON.stringify(bad));
  }
});

test('the built-in decoder dispatches on the media type', async () => {
  assert.equal((await decodeBody(Buffer.from('1,2'), 'text/csv')).kind, 'tensors');
  assert.equal((await decodeBody(await fixture('i4_1d.npy'), 'application/x-npy')).kind, 'tensors');
  assert.equal((await decodeBody(await fixture('two.npz'), 'application/x-npz')).kind, 'tensors');
  assert.equal((await decodeBody(Buffer.from([0xff, 0xd8]), 'image/jpeg')).kind, 'images');
  await assert.rejects(decodeBody(Buffer.alloc(0), 'text/csv'), rejectsWith('empty_body'));
});

test('NaN, ±Infinity and values past float32 are refused in NPY and NPZ tensors, as in JSON and CSV', async () => {
  // 1e300 and -3.5e38 are finite doubles, and ±Infinity as float32, the model's input type.
  for (const bad of [1e300, -3.5e38]) {
    const npy = encodeNpy(ndarray('float64', [1, 3], Float64Array.from([0.5, bad, 1])));
    await assert.rejects(decodeBody(npy, 'application/x-npy'), rejectsWith('invalid_tensor'));
    await assert.rejects(decodeBody(Buffer.from(`0.5,${bad},1`), 'text/csv'), rejectsWith('invalid_csv'));
    await assert.rejects(
      decodeBody(Buffer.from(JSON.stringify({ inputs: [[0.5, bad, 1]] })), 'application/json'),
      rejectsWith('invalid_tensor'),
    );
  }
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const npy = encodeNpy(ndarray('float32', [1, 3], Float32Array.from([0.5, bad, 1])));
    await assert.rejects(decodeBody(npy, 'application/x-npy'), (error: Error) => {
      assert.ok(error instanceof BadRequestError && error.code === 'invalid_tensor');
      assert.match(error.message, new RegExp(`the NPY tensor holds ${bad} at flat index 1`));
      return true;
    });
    const npz = Buffer.from(zipSync({ 'x.npy': new Uint8Array(npy) }));
    await assert.rejects(decodeBody(npz, 'application/x-npz'), rejectsWith('invalid_tensor'));
  }
  const fine = await decodeBody(encodeNpy(ndarray('float32', [2], Float32Array.from([0, 3e38]))), 'application/x-npy');
  assert.equal(fine.kind, 'tensors');
});

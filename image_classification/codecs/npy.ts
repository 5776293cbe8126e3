import { BadRequestError, clip } from '../errors';
import { MAX_NPY_HEADER_BYTES, MAX_TENSOR_DIMS } from './limits';
import { checkElementCount, elementCount, ndarray, TYPED_ARRAYS, type DType, type NdArray } from './ndarray';

/**
 * NumPy's .npy format (versions 1.0, 2.0 and 3.0), written to the spec in
 * numpy/lib/format.py: magic, version, header length, a Python-literal header dict, raw data.
 * Only plain numeric and bool dtypes are read. Object arrays are refused outright: numpy
 * stores them as a pickle, and unpickling what a client sent runs the client's code.
 */

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** `<kind><bytes>` → dtype, e.g. f4 → float32. */
const DTYPES: Record<string, DType> = {
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  b1: 'bool',
};
const DESCRIPTORS = Object.fromEntries(Object.entries(DTYPES).map(([code, dtype]) => [dtype, code])) as Record<DType, string>;

function invalid(message: string): BadRequestError {
  return new BadRequestError(`invalid NPY: ${message}`, 'invalid_npy');
}

interface NpyHeader {
  readonly dtype: DType;
  readonly bigEndian: boolean;
  readonly fortranOrder: boolean;
  readonly shape: number[];
}

function parseDescr(descr: string): { dtype: DType; bigEndian: boolean } {
  if (/^[<>|=]?O/.test(descr)) {
    throw new BadRequestError('NPY object arrays (pickled Python objects) are refused', 'npy_object_refused');
  }
  const match = /^([<>|=]?)([a-z])(\d+)$/.exec(descr);
  const dtype = match ? DTYPES[`${match[2]}${match[3]}`] : undefined;
  if (!match || !dtype) {
    throw new BadRequestError(
      `NPY dtype '${clip(descr)}' is not supported; use one of: ${Object.keys(DTYPES).join(', ')}`,
      'unsupported_dtype',
    );
  }
  return { dtype, bigEndian: match[1] === '>' };
}

/**
 * The value of `key` in the header dict, matched by `value` anchored right after the key's
 * first occurrence: one indexOf and one anchored match per key, so parsing stays linear
 * however the header repeats itself.
 */
function headerValue(text: string, key: string, value: RegExp): RegExpExecArray | undefined {
  for (const quote of ["'", '"']) {
    const at = text.indexOf(`${quote}${key}${quote}`);
    if (at < 0) continue;
    const sticky = new RegExp(`\\s*:\\s*(?:${value.source})`, 'y');
    sticky.lastIndex = at + key.length + 2;
    return sticky.exec(text) ?? undefined;
  }
  return undefined;
}

/** The header is a Python dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. */
function parseHeader(text: string): NpyHeader {
  const descr = headerValue(text, 'descr', /['"]([^'"]*)['"]|(\[)/);
  if (!descr) throw invalid('the header has no descr');
  if (descr[2]) throw new BadRequestError('NPY structured (record) dtypes are not supported', 'unsupported_dtype');
  const fortran = headerValue(text, 'fortran_order', /(True|False)/)?.[1];
  const shapeText = headerValue(text, 'shape', /\(([^)]*)\)/)?.[1];
  if (fortran === undefined || shapeText === undefined) throw invalid('the header lacks fortran_order or shape');
  const parts = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length > MAX_TENSOR_DIMS) throw invalid(`the shape has ${parts.length} dimensions; at most ${MAX_TENSOR_DIMS} are accepted`);
  const shape = parts.map((part) => (/^\d+L?$/.test(part) ? Number.parseInt(part, 10) : Number.NaN));
  if (shape.some((dim) => !Number.isSafeInteger(dim))) throw invalid(`bad shape (${clip(shapeText)})`);
  return { ...parseDescr(descr[1]!), fortranOrder: fortran === 'True', shape };
}

function readValues(bytes: Buffer, dtype: DType, bigEndian: boolean, count: number): NdArray['data'] {
  const Typed = TYPED_ARRAYS[dtype];
  const out = new Typed(count);
  // Copy into fresh (aligned) memory; the typed array is little-endian like every host we run on.
  new Uint8Array(out.buffer).set(bytes.subarray(0, count * Typed.BYTES_PER_ELEMENT));
  if (bigEndian && Typed.BYTES_PER_ELEMENT > 1) {
    const view = new Uint8Array(out.buffer);
    for (let i = 0; i < view.length; i += Typed.BYTES_PER_ELEMENT) view.subarray(i, i + Typed.BYTES_PER_ELEMENT).reverse();
  }
  return out;
}

/**
 * Fortran (column-major) order → C (row-major) order in one pass: an odometer over the C
 * index that moves the Fortran offset by one stride per step (amortised O(1) per value).
 * Axes of length 1 move no offset, so they are dropped first.
 */
function fortranToC(array: NdArray): NdArray {
  const { data } = array;
  const shape = array.shape.filter((dim) => dim !== 1);
  const out = new TYPED_ARRAYS[array.dtype](data.length);
  const strides: number[] = [];
  for (let axis = 0, stride = 1; axis < shape.length; stride *= shape[axis]!, axis++) strides.push(stride);
  const index = new Array<number>(shape.length).fill(0);
  const source = data as unknown as number[];
  const target = out as unknown as number[];
  for (let c = 0, f = 0; c < data.length; c++) {
    target[c] = source[f]!;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      f += strides[axis]!;
      if (++index[axis]! < shape[axis]!) break;
      f -= strides[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
  return ndarray(array.dtype, array.shape, out);
}

export function decodeNpy(body: Buffer): NdArray {
  if (body.length < 10 || !body.subarray(0, 6).equals(MAGIC)) throw invalid('missing the \\x93NUMPY magic');
  const major = body[6]!;
  if (major < 1 || major > 3) throw invalid(`unknown format version ${major}.${body[7]}`);
  const lengthBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthBytes;
  if (body.length < headerStart) throw invalid('truncated header');
  const headerLength = major === 1 ? body.readUInt16LE(8) : body.readUInt32LE(8);
  if (headerLength > MAX_NPY_HEADER_BYTES)
    throw invalid(`the header is ${headerLength} bytes; at most ${MAX_NPY_HEADER_BYTES} are accepted`);
  const dataStart = headerStart + headerLength;
  if (body.length < dataStart) throw invalid('truncated header');
  const header = parseHeader(body.subarray(headerStart, dataStart).toString(major === 3 ? 'utf8' : 'latin1'));
  const count = elementCount(header.shape);
  checkElementCount(count, 'the NPY array');
  const dataBytes = count * TYPED_ARRAYS[header.dtype].BYTES_PER_ELEMENT;
  const available = body.length - dataStart;
  if (available !== dataBytes) {
    throw invalid(`shape (${header.shape.join(', ')}) of ${header.dtype} needs ${dataBytes} data bytes, the body has ${available}`);
  }
  const array = ndarray(header.dtype, header.shape, readValues(body.subarray(dataStart), header.dtype, header.bigEndian, count));
  return header.fortranOrder && header.shape.length > 1 ? fortranToC(array) : array;
}

/** Version 1.0, little-endian, C order; the header is padded so the data starts 64-byte aligned. */
export function encodeNpy(array: NdArray): Buffer {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  const endian = array.dtype === 'bool' || array.dtype.endsWith('int8') ? '|' : '<';
  let header = `{'descr': '${endian}${DESCRIPTORS[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header = `${header}${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

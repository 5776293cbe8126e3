import { BadRequestError } from '../errors';

/**
 * An n-dimensional array as the tensor codecs (JSON, CSV, NPY, NPZ) read and write it:
 * row-major (C order) data in a typed array, plus its shape. The dtype names are ONNX
 * Runtime's, so an NdArray maps 1:1 onto an `ort.Tensor`.
 */
export type DType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NdArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

type TypedArrayConstructor = { new (length: number): TypedArray; readonly BYTES_PER_ELEMENT: number };

export const TYPED_ARRAYS: Record<DType, TypedArrayConstructor> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** Refuse tensors bigger than this many elements: a shape header must not allocate the heap away. */
export const MAX_ELEMENTS = 64 * 1024 * 1024;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

export function ndarray(dtype: DType, shape: readonly number[], data?: TypedArray): NdArray {
  const count = elementCount(shape);
  const values = data ?? new TYPED_ARRAYS[dtype](count);
  if (values.length !== count) throw new RangeError(`shape [${shape.join(', ')}] needs ${count} values, got ${values.length}`);
  return { dtype, shape: [...shape], data: values };
}

export function isNdArray(value: unknown): value is NdArray {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<NdArray>;
  return typeof candidate.dtype === 'string' && candidate.dtype in TYPED_ARRAYS && Array.isArray(candidate.shape) && ArrayBuffer.isView(candidate.data);
}

/** Plain numbers for JSON/CSV; 64-bit integers become Numbers (exact up to 2^53). */
export function toNumbers(array: NdArray): number[] {
  return Array.from(array.data as ArrayLike<number | bigint>, Number);
}

/** Nested lists, e.g. shape [2, 3] → [[a, b, c], [d, e, f]]; a 0-d array is a bare number. */
export function toNested(array: NdArray): unknown {
  const values = toNumbers(array);
  const build = (axis: number, offset: number): unknown => {
    if (axis === array.shape.length) return values[offset];
    const stride = elementCount(array.shape.slice(axis + 1));
    return Array.from({ length: array.shape[axis]! }, (_, i) => build(axis + 1, offset + i * stride));
  };
  return build(0, 0);
}

/** The shape of a rectangular nested list of numbers; `where` names it in the 400 message. */
function nestedShape(value: unknown, where: string): number[] {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    if (level.length === 0) throw new BadRequestError(`${where} holds an empty list`, 'invalid_tensor');
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/** Nested lists of numbers (or one number) → float32 array; ragged or non-numeric → 400. */
export function fromNested(value: unknown, where = 'body'): NdArray {
  const shape = nestedShape(value, where);
  const count = elementCount(shape);
  if (count > MAX_ELEMENTS) throw new BadRequestError(`${where} holds more than ${MAX_ELEMENTS} values`, 'tensor_too_large');
  const data = new Float32Array(count);
  let next = 0;
  const fill = (node: unknown, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (typeof node !== 'number' || !Number.isFinite(node)) throw new BadRequestError(`${path} is not a finite number`, 'invalid_tensor');
      data[next++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new BadRequestError(`${path} must be a list of ${shape[axis]} (the tensor is ragged or mixes lists and numbers)`, 'invalid_tensor');
    }
    node.forEach((child, i) => fill(child, axis + 1, `${path}[${i}]`));
  };
  fill(value, 0, where);
  return ndarray('float32', shape, data);
}

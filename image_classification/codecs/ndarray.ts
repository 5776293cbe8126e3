import { BadRequestError } from '../errors';
import { MAX_JSON_TENSOR_DEPTH, MAX_TENSOR_ELEMENTS } from './limits';

/**
 * A value the model can take: finite once narrowed to float32, the model's input type. 1e300
 * is a finite double, and Infinity as float32: it would turn every score into NaN.
 */
export const isFiniteFloat32 = (value: number): boolean => Number.isFinite(Math.fround(value));

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
  return (
    typeof candidate.dtype === 'string' &&
    candidate.dtype in TYPED_ARRAYS &&
    Array.isArray(candidate.shape) &&
    ArrayBuffer.isView(candidate.data)
  );
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
    if (shape.length === MAX_JSON_TENSOR_DEPTH)
      throw new BadRequestError(`${where} is nested more than ${MAX_JSON_TENSOR_DEPTH} lists deep`, 'invalid_tensor');
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/** Refuse before allocating: a shape's product, not the body's size, decides the allocation. */
export function checkElementCount(count: number, where: string): void {
  if (count > MAX_TENSOR_ELEMENTS)
    throw new BadRequestError(`${where} holds ${count} values; at most ${MAX_TENSOR_ELEMENTS} are accepted`, 'tensor_too_large');
}

/** Nested lists of numbers (or one number) → float32 array; ragged or non-numeric → 400. */
export function fromNested(value: unknown, where = 'body'): NdArray {
  const shape = nestedShape(value, where);
  checkElementCount(elementCount(shape), where);
  const data = new Float32Array(elementCount(shape));
  // The index of the node being visited, so a 400 can say where without a string per value.
  const position = new Array<number>(shape.length).fill(0);
  const at = (axis: number) =>
    `${where}${position
      .slice(0, axis)
      .map((i) => `[${i}]`)
      .join('')}`;
  let next = 0;
  // Recursion depth is the tensor's rank, which nestedShape capped.
  const fill = (node: unknown, axis: number): void => {
    if (axis === shape.length) {
      if (typeof node !== 'number' || !isFiniteFloat32(node))
        throw new BadRequestError(`${at(axis)} is not a finite float32 number`, 'invalid_tensor');
      data[next++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new BadRequestError(
        `${at(axis)} must be a list of ${shape[axis]} (the tensor is ragged or mixes lists and numbers)`,
        'invalid_tensor',
      );
    }
    for (let i = 0; i < node.length; i++) {
      position[axis] = i;
      fill(node[i], axis + 1);
    }
  };
  fill(value, 0);
  return ndarray('float32', shape, data);
}

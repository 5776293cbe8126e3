import { onnx } from 'onnx-proto';

/** Reading and writing ONNX initializers (TensorProto) as typed arrays. */

const { DataType } = onnx.TensorProto;

function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function tensor(name: string, dims: readonly number[], dataType: onnx.TensorProto.DataType, values: ArrayBufferView): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims: [...dims], dataType, rawData: bytesOf(values) });
}

export const floatTensor = (name: string, dims: readonly number[], values: Float32Array) => tensor(name, dims, DataType.FLOAT, values);
export const int8Tensor = (name: string, dims: readonly number[], values: Int8Array) => tensor(name, dims, DataType.INT8, values);
export const uint8Tensor = (name: string, dims: readonly number[], values: Uint8Array) => tensor(name, dims, DataType.UINT8, values);
export const int32Tensor = (name: string, dims: readonly number[], values: Int32Array) => tensor(name, dims, DataType.INT32, values);

export function dimsOf(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map(Number);
}

/** A float32 initializer's values, whether stored as raw bytes or in float_data. */
export function floatValues(t: onnx.ITensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new TypeError(`initializer ${t.name} is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

export function isFloatInitializer(t: onnx.ITensorProto | undefined): t is onnx.ITensorProto {
  return t !== undefined && t.dataType === DataType.FLOAT;
}

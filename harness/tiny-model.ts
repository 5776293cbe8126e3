import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';

/**
 * A tiny image classifier written as an ONNX graph, for the paths the shipped model never
 * takes (logits out, no preprocessing.json, small inputs):
 *   pixels [N, 3, H, W] → GlobalAveragePool → Flatten → Gemm(W [3, 3], b [3]) → logits [N, 3]
 * and, with `softmax`, → Softmax(axis 1) → probabilities. H and W are symbolic, so one file
 * runs at whatever crop size preprocessing.json sets. It loads in milliseconds.
 */

export const TINY_LABELS = ['cat', 'dog', 'fox'] as const;
export const TINY_INPUT = 'pixels';

/** Chosen so that the logits of any photo are far from a probability distribution (some negative, sum ≠ 1). */
const WEIGHTS = Float32Array.from([4, -3, 1, -2, 5, 1, 1, 0, -4]);
const BIAS = Float32Array.from([0.5, -1, 2]);

const { DataType } = onnx.TensorProto;
const INT = onnx.AttributeProto.AttributeType.INT;

function floatInit(name: string, dims: number[], values: Float32Array): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer.slice(0)) });
}

function valueInfo(name: string, dims: (number | string)[]): onnx.ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } });
}

/**
 * `bias`: the Gemm's bias instead of BIAS (a NaN in it makes every score NaN). `scratchFloats`:
 * every run also fills that many zeros per image and adds their sum to the logits (the same
 * scores), so ONNX Runtime's arena holds 4 bytes × that after the first run: a model far larger
 * in memory than its file.
 */
export function tinyClassifierOnnx(options: { softmax: boolean; bias?: readonly number[]; scratchFloats?: number }): Uint8Array {
  const output = options.softmax ? 'probabilities' : 'logits';
  const gemmOutput = options.scratchFloats ? 'gemm' : 'logits';
  const node = [
    onnx.NodeProto.create({ opType: 'GlobalAveragePool', input: [TINY_INPUT], output: ['pooled'] }),
    onnx.NodeProto.create({ opType: 'Flatten', input: ['pooled'], output: ['flat'], attribute: [{ name: 'axis', type: INT, i: 1 }] }),
    onnx.NodeProto.create({ opType: 'Gemm', input: ['flat', 'w', 'b'], output: [gemmOutput] }),
  ];
  const initializer = [floatInit('w', [3, 3], WEIGHTS), floatInit('b', [3], options.bias ? Float32Array.from(options.bias) : BIAS)];
  if (options.scratchFloats) {
    // [N, scratchFloats] zeros, N from the input's shape, so ONNX Runtime cannot fold it at load.
    const int64 = (name: string, values: number[]) =>
      onnx.TensorProto.create({ name, dims: [values.length], dataType: DataType.INT64, int64Data: values });
    initializer.push(int64('zero', [0]), int64('one', [1]), int64('scratch_width', [options.scratchFloats]));
    node.push(
      onnx.NodeProto.create({ opType: 'Shape', input: [TINY_INPUT], output: ['input_shape'] }),
      onnx.NodeProto.create({ opType: 'Slice', input: ['input_shape', 'zero', 'one'], output: ['batch'] }),
      onnx.NodeProto.create({
        opType: 'Concat',
        input: ['batch', 'scratch_width'],
        output: ['scratch_shape'],
        attribute: [{ name: 'axis', type: INT, i: 0 }],
      }),
      onnx.NodeProto.create({ opType: 'ConstantOfShape', input: ['scratch_shape'], output: ['scratch'] }),
      onnx.NodeProto.create({ opType: 'ReduceSum', input: ['scratch'], output: ['scratch_sum'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['gemm', 'scratch_sum'], output: ['logits'] }),
    );
  }
  if (options.softmax) {
    node.push(
      onnx.NodeProto.create({ opType: 'Softmax', input: ['logits'], output: [output], attribute: [{ name: 'axis', type: INT, i: 1 }] }),
    );
  }
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    node,
    initializer,
    input: [valueInfo(TINY_INPUT, ['N', 3, 'H', 'W'])],
    output: [valueInfo(output, ['N', 3])],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph })).finish();
}

/**
 * A model directory with the tiny classifier and its labels; `preprocessing` is written as
 * preprocessing.json when given (none: the built-in defaults, a 224 crop).
 */
export async function tinyModelDir(options: { softmax: boolean; preprocessing?: Record<string, unknown> }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tiny-model-'));
  await writeFile(path.join(dir, 'model.onnx'), tinyClassifierOnnx(options));
  await writeFile(path.join(dir, 'labels.json'), JSON.stringify(TINY_LABELS));
  if (options.preprocessing) await writeFile(path.join(dir, 'preprocessing.json'), JSON.stringify(options.preprocessing));
  return dir;
}

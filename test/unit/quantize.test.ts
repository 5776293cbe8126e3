import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { ort } from '../../image_classification/runtime/onnxruntime';
import seedrandom from 'seedrandom';
import { graphFor } from '../../image_classification/runtime/session';
import { floatTensor } from '../../image_classification/quantize/onnx-tensors';
import {
  activationParams,
  quantizeBias,
  quantizeWeightsPerChannel,
  roundHalfEven,
  weightGridStep,
} from '../../image_classification/quantize/params';
import { quantizeModel } from '../../image_classification/quantize/quantize';

test('activation params: uint8, the range always holds 0 exactly', () => {
  const relu = activationParams({ min: 0, max: 6 });
  assert.equal(relu.zeroPoint, 0);
  assert.ok(Math.abs(relu.scale - 6 / 255) < 1e-7);
  const signed = activationParams({ min: -1, max: 0.9921875 }); // (pixel - 128) / 128
  assert.equal(signed.zeroPoint, 128);
  assert.equal(signed.scale, 1 / 128, 'every 8-bit pixel is exactly representable');
  const positive = activationParams({ min: 2, max: 4 });
  assert.equal(positive.zeroPoint * positive.scale, 0, 'the lowest representable value, −zero point × scale, is 0');
  assert.deepEqual(activationParams({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 }, 'a constant-zero tensor still gets a valid scale');
});

test('round half to even, as QuantizeLinear rounds', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 1.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 1, -3]);
});

test('weights: symmetric per output channel, within ±maxLevel, error under half a step', () => {
  const random = seedrandom('weights');
  const dims = [4, 3, 3, 3];
  const weights = Float32Array.from({ length: 108 }, (_, i) => (random() - 0.5) * (i < 27 ? 10 : 0.1)); // channel 0 is 100× larger
  for (const maxLevel of [127, 63]) {
    const q = quantizeWeightsPerChannel(weights, dims, 0, maxLevel);
    assert.equal(q.scales.length, 4);
    assert.ok(q.scales[0]! > 50 * q.scales[1]!, 'each channel has its own scale');
    q.values.forEach((v, i) => {
      assert.ok(Math.abs(v) <= maxLevel);
      assert.ok(Math.abs(v * q.scales[Math.floor(i / 27)]! - weights[i]!) <= q.scales[Math.floor(i / 27)]! / 2 + 1e-7);
    });
  }
  const zeros = quantizeWeightsPerChannel(new Float32Array(9), [1, 1, 3, 3], 0);
  assert.equal(zeros.scales[0], 1);
});

test('weights already on a grid (a model trained with quantization) are kept exactly', () => {
  const step = 0.0123;
  const integers = [-130, -127, -60, -1, 0, 3, 77, 126, 2, -5, 9, 100];
  const weights = Float32Array.from(integers, (k) => k * step);
  assert.ok(Math.abs(weightGridStep(weights)! - step) < 1e-9);
  // Channel 0 spans −130…−1 steps (clipping 2 values beats re-gridding 6); channel 1 fits.
  const q = quantizeWeightsPerChannel(weights, [2, 6], 0);
  assert.ok(Math.abs(q.scales[1]! - step) < 1e-9);
  assert.deepEqual([...q.values.slice(6)], [77, 126, 2, -5, 9, 100]);
  assert.equal(weightGridStep(Float32Array.of(0.1, 0.25, 0.33)), undefined);
});

test('bias: int32 with scale = input scale × weight scale', () => {
  const b = quantizeBias(Float32Array.of(1, -2), 0.5, Float32Array.of(0.01, 0.1));
  assert.deepEqual([...b.values], [200, -40]);
  assert.deepEqual(
    [...b.scales].map((s) => +s.toFixed(6)),
    [0.005, 0.05],
  );
});

test('graphFor: the CUDA provider runs model.cuda.onnx when there is one, the CPU always model.onnx', () => {
  assert.equal(graphFor('cpu', { default: 'model.onnx', cuda: 'model.cuda.onnx' }), 'model.onnx');
  assert.equal(graphFor('cuda', { default: 'model.onnx', cuda: 'model.cuda.onnx' }), 'model.cuda.onnx');
  assert.equal(graphFor('cuda', { default: 'model.onnx' }), 'model.onnx');
});

/** input → Conv 3×3 → Relu → Conv 1×1 → Add(input) → output: a residual block, random weights. */
function residualBlock(): Uint8Array {
  const random = seedrandom('block');
  const values = (n: number, scale: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * scale);
  const value = (name: string) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: [1, 4, 8, 8].map((d) => ({ dimValue: d })) } } } });
  const ints = (name: string, list: number[]) =>
    onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: list });
  const graph = onnx.GraphProto.create({
    name: 'block',
    input: [value('x')],
    output: [value('y')],
    initializer: [
      floatTensor('w1', [8, 4, 3, 3], values(288, 0.6)),
      floatTensor('b1', [8], values(8, 0.2)),
      floatTensor('w2', [4, 8, 1, 1], values(32, 0.8)),
      floatTensor('b2', [4], values(4, 0.2)),
    ],
    node: [
      onnx.NodeProto.create({
        name: 'conv1',
        opType: 'Conv',
        input: ['x', 'w1', 'b1'],
        output: ['c1'],
        attribute: [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])],
      }),
      onnx.NodeProto.create({ name: 'relu1', opType: 'Relu', input: ['c1'], output: ['r1'] }),
      onnx.NodeProto.create({ name: 'conv2', opType: 'Conv', input: ['r1', 'w2', 'b2'], output: ['c2'] }),
      onnx.NodeProto.create({ name: 'add', opType: 'Add', input: ['c2', 'x'], output: ['y'] }),
    ],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph })).finish();
}

test('a float graph becomes QDQ that ONNX Runtime runs as int8 kernels, close to the float result', async () => {
  const random = seedrandom('inputs');
  const input = () =>
    new ort.Tensor(
      'float32',
      Float32Array.from({ length: 256 }, () => random() * 2 - 1),
      [1, 4, 8, 8],
    );
  const calibration = Array.from({ length: 16 }, input);
  const float = residualBlock();
  const result = await quantizeModel(
    float,
    async function* () {
      yield* calibration;
    },
    { statistic: 'minmax', threads: 1 },
  );
  assert.equal(result.quantizedConvs, 2);
  assert.equal(result.quantizedAdds, 1);
  const ops = onnx.ModelProto.decode(result.model).graph!.node!.map((n) => n.opType);
  assert.ok(!ops.includes('Relu'), 'the Relu is absorbed into the output range');
  assert.ok(ops.includes('QuantizeLinear') && ops.includes('DequantizeLinear'));

  const optimized = path.join(await mkdtemp(path.join(os.tmpdir(), 'qdq-')), 'optimized.onnx');
  const fused = await ort.InferenceSession.create(result.model, {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimized,
  } as ort.InferenceSession.SessionOptions);
  const fusedOps = onnx.ModelProto.decode(await readFile(optimized)).graph!.node!.map((n) => n.opType);
  assert.ok(fusedOps.filter((op) => op === 'QLinearConv').length === 2 && fusedOps.includes('QLinearAdd'), `fused: ${fusedOps.join(', ')}`);

  const reference = await ort.InferenceSession.create(float);
  const x = input();
  const expected = (await reference.run({ x })).y!.data as Float32Array;
  const actual = (await fused.run({ x })).y!.data as Float32Array;
  let error = 0;
  let norm = 0;
  expected.forEach((v, i) => {
    error += (v - actual[i]!) ** 2;
    norm += v * v;
  });
  // 7-bit weights (the default) cannot saturate the AVX2 u8×s8 kernel, so this holds on any x86 CPU.
  assert.ok(Math.sqrt(error / norm) < 0.03, `relative error ${Math.sqrt(error / norm)}`);
});

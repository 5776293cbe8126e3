import { onnx } from 'onnx-proto';
import { activationParams, quantizeBias, quantizeWeightsPerChannel, type ActivationParams, type Range } from './params';
import { dimsOf, floatTensor, floatValues, int32Tensor, int8Tensor, isFloatInitializer, uint8Tensor } from './onnx-tensors';

/**
 * Static quantization of a float ONNX graph into QDQ form: QuantizeLinear → DequantizeLinear
 * pairs around each Conv (its Relu/Clip absorbed into the output's range) and each Add of two
 * activations. ONNX Runtime's CPU provider fuses DQ → Conv → Q into QLinearConv and
 * DQ, DQ → Add → Q into QLinearAdd, so the graph runs int8 kernels while staying a plain ONNX
 * graph any runtime can execute (in float, through the DQs). Everything else stays float.
 */

export interface QuantizeOptions {
  /** Layers to leave in float, by node name or output tensor name (many exporters leave nodes unnamed). */
  readonly keepFloat?: ReadonlySet<string>;
  /**
   * 7 (default, "reduce range", levels ±63): the same answers on every x86 CPU. 8: the full
   * int8 range, for CPUs with VNNI only: the AVX2 u8×s8 kernel sums products in pairs in int16
   * and saturates.
   */
  readonly weightBits?: 7 | 8;
}

/** One activation tensor to quantize: `tensor` is what consumers read and calibration measures. */
interface QuantizedActivation {
  readonly tensor: string;
  /** The float tensor the QuantizeLinear reads: the Conv's own output when a Relu/Clip is absorbed. */
  readonly source: string;
}

export interface QuantizationPlan {
  readonly activations: readonly QuantizedActivation[];
  readonly convs: ReadonlySet<onnx.INodeProto>;
  readonly adds: ReadonlySet<onnx.INodeProto>;
  readonly absorbed: ReadonlySet<onnx.INodeProto>;
}

const MIN_OPSET = 13; // per-channel (axis) QuantizeLinear/DequantizeLinear

function attribute(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function scalarInitializer(initializers: Map<string, onnx.ITensorProto>, name: string | undefined): number | undefined {
  const t = name ? initializers.get(name) : undefined;
  const values = isFloatInitializer(t) ? floatValues(t) : undefined;
  return values?.length === 1 ? values[0] : undefined;
}

/** [low, high] of a Relu or a Clip with constant bounds; undefined for anything else. */
function clampBounds(node: onnx.INodeProto, initializers: Map<string, onnx.ITensorProto>): Range | undefined {
  if (node.opType === 'Relu') return { min: 0, max: Infinity };
  if (node.opType !== 'Clip') return undefined;
  const inputs = node.input ?? [];
  const min = inputs[1] ? scalarInitializer(initializers, inputs[1]) : (attribute(node, 'min')?.f ?? -Infinity);
  const max = inputs[2] ? scalarInitializer(initializers, inputs[2]) : (attribute(node, 'max')?.f ?? Infinity);
  return min === undefined || max === undefined ? undefined : { min, max };
}

function consumersOf(graph: onnx.IGraphProto): Map<string, onnx.INodeProto[]> {
  const consumers = new Map<string, onnx.INodeProto[]>();
  for (const node of graph.node ?? []) for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  return consumers;
}

function opsetOf(model: onnx.IModelProto): number {
  return Number(model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
}

/** Which nodes become int8 and which activation tensors need a range (to calibrate). */
export function planQuantization(model: onnx.IModelProto, options: QuantizeOptions = {}): QuantizationPlan {
  if (opsetOf(model) < MIN_OPSET)
    throw new Error(`quantization needs opset ${MIN_OPSET} or later (the model has ${opsetOf(model)}); re-export it`);
  const graph = model.graph!;
  // Quantizing twice would calibrate int8 values as if they were float: refuse instead.
  if ((graph.node ?? []).some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear')) {
    throw new Error('the model already holds QuantizeLinear nodes: quantize its float32 export instead');
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const consumers = consumersOf(graph);
  const outputs = new Set((graph.output ?? []).map((o) => o.name!));
  const isActivation = (name: string | undefined) => !!name && !initializers.has(name);
  const activations = new Map<string, QuantizedActivation>();
  const convs = new Set<onnx.INodeProto>();
  const adds = new Set<onnx.INodeProto>();
  const absorbed = new Set<onnx.INodeProto>();
  const keepSet = options.keepFloat ?? new Set<string>();
  const keep = (node: onnx.INodeProto) => keepSet.has(node.name ?? '') || (node.output ?? []).some((o) => keepSet.has(o));

  const addActivation = (tensor: string, source = tensor) => {
    if (!activations.has(tensor)) activations.set(tensor, { tensor, source });
  };
  for (const node of graph.node ?? []) {
    if (keep(node)) continue;
    const [x, w, b] = node.input ?? [];
    const output = node.output?.[0];
    if (!output) continue;
    if (
      node.opType === 'Conv' &&
      isActivation(x) &&
      isFloatInitializer(initializers.get(w ?? '')) &&
      (!b || isFloatInitializer(initializers.get(b)))
    ) {
      convs.add(node);
      addActivation(x!);
      const next = consumers.get(output) ?? [];
      const bounds = next.length === 1 && !outputs.has(output) ? clampBounds(next[0]!, initializers) : undefined;
      // The output's uint8 range always contains 0 and ends at the largest value seen, so when
      // the clamp spans 0 the QuantizeLinear's saturation does the Relu/Clip's work exactly.
      if (bounds && bounds.min <= 0 && bounds.max >= 0 && !keep(next[0]!)) {
        absorbed.add(next[0]!);
        addActivation(next[0]!.output![0]!, output);
      } else {
        addActivation(output);
      }
    } else if (node.opType === 'Add' && (node.input ?? []).length === 2 && node.input!.every(isActivation)) {
      adds.add(node);
      for (const input of node.input!) addActivation(input);
      addActivation(output);
    }
  }
  return { activations: [...activations.values()], convs, adds, absorbed };
}

function node(opType: string, inputs: string[], outputs: string[], name: string, axis?: number): onnx.NodeProto {
  const attribute =
    axis === undefined ? [] : [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis })];
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name, attribute });
}

/**
 * Rewrite the graph in place with the calibrated ranges: every consumer of a quantized tensor
 * reads it through its own DequantizeLinear (one per consumer: ORT fuses node units, and a
 * shared DQ would tie two units together); weights and biases become int8/int32 initializers.
 */
export function applyQuantization(
  model: onnx.IModelProto,
  plan: QuantizationPlan,
  ranges: ReadonlyMap<string, Range>,
  options: QuantizeOptions = {},
): void {
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const added: onnx.TensorProto[] = [];
  const params = new Map<string, ActivationParams>();
  const bySource = new Map<string, QuantizedActivation>();
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name!));
  for (const activation of plan.activations) {
    const range = ranges.get(activation.tensor);
    if (!range) throw new Error(`no calibration range for tensor ${activation.tensor}`);
    const p = activationParams(range);
    params.set(activation.tensor, p);
    bySource.set(activation.source, activation);
    added.push(
      floatTensor(`${activation.tensor}_scale`, [], Float32Array.of(p.scale)),
      uint8Tensor(`${activation.tensor}_zero_point`, [], Uint8Array.of(p.zeroPoint)),
    );
  }
  const qdqInputs = (tensor: string) => [`${tensor}_quantized`, `${tensor}_scale`, `${tensor}_zero_point`];
  const nodes: onnx.NodeProto[] = [];
  let dqCount = 0;
  const quantizeAfter = (tensor: string) => {
    const activation = bySource.get(tensor);
    if (activation)
      nodes.push(
        node(
          'QuantizeLinear',
          [tensor, `${activation.tensor}_scale`, `${activation.tensor}_zero_point`],
          [`${activation.tensor}_quantized`],
          `${activation.tensor}_Q`,
        ),
      );
  };
  const dequantize = (tensor: string, output = `${tensor}_dq${dqCount++}`) => {
    nodes.push(node('DequantizeLinear', qdqInputs(tensor), [output], `${output}_DQ`));
    return output;
  };

  for (const input of graph.input ?? []) quantizeAfter(input.name!);
  for (const original of graph.node ?? []) {
    if (plan.absorbed.has(original)) continue;
    const current = original as onnx.NodeProto;
    const inputParams = params.get(current.input[0] ?? '');
    current.input = current.input.map((input) => (params.has(input) ? dequantize(input) : input));
    if (plan.convs.has(current))
      quantizeConvWeights(current, initializers, inputParams!, added, nodes, options.weightBits === 8 ? 127 : 63);
    nodes.push(current);
    for (const output of current.output ?? []) {
      // A quantized graph output keeps its name for callers: the float tensor is renamed.
      if (bySource.get(output)?.tensor === output && graphOutputs.has(output)) {
        current.output = current.output!.map((o) => (o === output ? `${output}_float` : o));
        bySource.set(`${output}_float`, bySource.get(output)!);
        quantizeAfter(`${output}_float`);
      } else {
        quantizeAfter(output);
      }
    }
  }
  for (const output of graph.output ?? []) if (params.has(output.name!)) dequantize(output.name!, output.name!);

  graph.node = nodes;
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = [...(graph.initializer ?? []), ...added].filter((t) => used.has(t.name!)) as onnx.TensorProto[];
  // Stale shape/type hints for renamed tensors would mislead the runtime; it infers its own.
  graph.valueInfo = [];
}

function quantizeConvWeights(
  conv: onnx.NodeProto,
  initializers: Map<string, onnx.ITensorProto>,
  input: ActivationParams,
  added: onnx.TensorProto[],
  nodes: onnx.NodeProto[],
  maxLevel: number,
): void {
  const [, weightName, biasName] = conv.input;
  const name = conv.name || conv.output[0]!;
  const weight = initializers.get(weightName!)!;
  const dims = dimsOf(weight);
  const w = quantizeWeightsPerChannel(floatValues(weight), dims, 0, maxLevel);
  conv.input[1] = dequantizedParameter(`${name}_w`, dims, w, added, nodes);
  if (!biasName) return;
  const b = quantizeBias(floatValues(initializers.get(biasName)!), input.scale, w.scales);
  conv.input[2] = dequantizedParameter(`${name}_b`, [dims[0]!], b, added, nodes);
}

/**
 * A parameter quantized per channel (axis 0): its integer values, scales and zero points (0, of
 * the values' type) as initializers, and the DequantizeLinear node that restores it. Returns
 * the name of the restored float tensor.
 */
function dequantizedParameter(
  prefix: string,
  dims: readonly number[],
  quantized: { readonly values: Int8Array | Int32Array; readonly scales: Float32Array },
  added: onnx.TensorProto[],
  nodes: onnx.NodeProto[],
): string {
  const channels = quantized.scales.length;
  const integer = (tensorName: string, shape: readonly number[], values: Int8Array | Int32Array) =>
    values instanceof Int8Array ? int8Tensor(tensorName, shape, values) : int32Tensor(tensorName, shape, values);
  const zeros = quantized.values instanceof Int8Array ? new Int8Array(channels) : new Int32Array(channels);
  const [values, scale, zeroPoint] = [`${prefix}_quantized`, `${prefix}_scale`, `${prefix}_zero_point`];
  added.push(
    integer(values, dims, quantized.values),
    floatTensor(scale, [channels], quantized.scales),
    integer(zeroPoint, [channels], zeros),
  );
  nodes.push(node('DequantizeLinear', [values, scale, zeroPoint], [`${prefix}_dequantized`], `${prefix}_DQ`, 0));
  return `${prefix}_dequantized`;
}

import { onnx } from 'onnx-proto';
import { floatTensor } from '../quantize/onnx-tensors';

/**
 * Append a classification head to a backbone by editing the ONNX protobuf:
 *   features [N, dim] → Gemm(W [dim, K], b [K]) → Softmax(axis 1) → `probabilities` [N, K]
 * The backbone's other outputs are dropped and the nodes and weights only they used are
 * pruned, so the result is one self-contained graph the server runs as is.
 */

export const PROBABILITIES_OUTPUT = 'probabilities';

export interface HeadWeights {
  /** [dim][classes], row-major (Gemm's B without transpose). */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
  readonly dim: number;
  readonly classes: number;
}

function pruneToOutputs(graph: onnx.GraphProto): void {
  const needed = new Set(graph.output.map((o) => o.name));
  const kept: onnx.INodeProto[] = [];
  for (const node of [...graph.node].reverse()) {
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const input of node.input ?? []) needed.add(input);
  }
  graph.node = kept.reverse() as onnx.NodeProto[];
  graph.initializer = graph.initializer.filter((t) => needed.has(t.name));
}

/**
 * Fix the image input's spatial dims. MobileNetV2 ends in GlobalAveragePool, so it runs at
 * any resolution; its file declares 224×224 only because it was exported that way.
 */
function setInputSize(graph: onnx.GraphProto, size: number): void {
  const dims = graph.input[0]?.type?.tensorType?.shape?.dim;
  if (!dims || dims.length !== 4) throw new Error('the backbone input is not a 4-D image tensor');
  dims[2] = { dimValue: size };
  dims[3] = { dimValue: size };
}

/** features := concat(features, GlobalAveragePool(extra)): an intermediate block's pooled activations beside the final ones. */
function appendPooled(graph: onnx.GraphProto, featuresOutput: string, extra: string): void {
  const producer = graph.node.find((n) => (n.output ?? []).includes(featuresOutput))!;
  producer.output = producer.output!.map((o) => (o === featuresOutput ? `${featuresOutput}_final` : o));
  graph.node.push(
    onnx.NodeProto.create({ name: 'extra_pool', opType: 'GlobalAveragePool', input: [extra], output: ['extra_pooled'] }),
    onnx.NodeProto.create({ name: 'extra_flatten', opType: 'Flatten', input: ['extra_pooled'], output: ['extra_flat'] }),
    onnx.NodeProto.create({
      name: 'features_concat',
      opType: 'Concat',
      input: [`${featuresOutput}_final`, 'extra_flat'],
      output: [featuresOutput],
      attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
    }),
  );
  graph.output[0]!.type = { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } };
}

/**
 * The backbone at the served resolution with only its features output (the ImageNet
 * classifier pruned): what features are extracted with, quantized, and the head appended to.
 */
export function featureBackbone(backbone: Uint8Array, size: number, featuresOutput: string, pooledExtra?: string): Uint8Array {
  const model = onnx.ModelProto.decode(backbone);
  const graph = model.graph as onnx.GraphProto;
  setInputSize(graph, size);
  const features = graph.output.find((o) => o.name === featuresOutput);
  if (!features) throw new Error(`the backbone has no output '${featuresOutput}' (outputs: ${graph.output.map((o) => o.name).join(', ')})`);
  graph.output = [features];
  if (pooledExtra) appendPooled(graph, featuresOutput, pooledExtra);
  pruneToOutputs(graph);
  return onnx.ModelProto.encode(model).finish();
}

export function appendClassifierHead(backbone: Uint8Array, featuresOutput: string, head: HeadWeights, inputSize: number): Uint8Array {
  const model = onnx.ModelProto.decode(backbone);
  const graph = model.graph as onnx.GraphProto;
  setInputSize(graph, inputSize);
  if (!graph.output.some((o) => o.name === featuresOutput)) {
    throw new Error(`the backbone has no output '${featuresOutput}' (outputs: ${graph.output.map((o) => o.name).join(', ')})`);
  }
  graph.initializer.push(
    floatTensor('head_weight', [head.dim, head.classes], head.weights),
    floatTensor('head_bias', [head.classes], head.bias),
  );
  graph.node.push(
    onnx.NodeProto.create({
      name: 'head_gemm',
      opType: 'Gemm',
      input: [featuresOutput, 'head_weight', 'head_bias'],
      output: ['head_logits'],
    }),
    onnx.NodeProto.create({
      name: 'head_softmax',
      opType: 'Softmax',
      input: ['head_logits'],
      output: [PROBABILITIES_OUTPUT],
      attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
    }),
  );
  graph.output = [
    onnx.ValueInfoProto.create({
      name: PROBABILITIES_OUTPUT,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: 'N' }, { dimValue: head.classes }] },
        },
      },
    }),
  ];
  pruneToOutputs(graph);
  model.producerName = 'sagemaker-image-classification train';
  return onnx.ModelProto.encode(model).finish();
}

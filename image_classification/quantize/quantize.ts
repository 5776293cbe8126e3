import { onnx } from 'onnx-proto';
import { calibrate, type CalibrationBatches, type CalibrationOptions } from './calibrate';
import { applyQuantization, planQuantization, type QuantizeOptions } from './qdq';

export interface QuantizeResult {
  readonly model: Uint8Array;
  readonly quantizedConvs: number;
  readonly quantizedAdds: number;
  readonly calibratedTensors: number;
}

/** Float ONNX model → QDQ int8 model, calibrated on `batches` (see qdq.ts and calibrate.ts). */
export async function quantizeModel(
  model: Uint8Array,
  batches: CalibrationBatches,
  options: QuantizeOptions & CalibrationOptions,
): Promise<QuantizeResult> {
  const decoded = onnx.ModelProto.decode(model);
  const plan = planQuantization(decoded, options);
  const ranges = await calibrate(
    model,
    plan.activations.map((a) => a.tensor),
    batches,
    options,
  );
  applyQuantization(decoded, plan, ranges, options);
  decoded.producerName = 'sagemaker-image-classification quantize';
  return {
    model: onnx.ModelProto.encode(decoded).finish(),
    quantizedConvs: plan.convs.size,
    quantizedAdds: plan.adds.size,
    calibratedTensors: ranges.size,
  };
}

import { z } from 'zod';

/**
 * `preprocessing.json` in a model directory: how to turn an image into the model's input
 * tensor and how to read its output. Every key is optional; the defaults are torchvision's
 * ImageNet recipe (Resize(256) → CenterCrop(224) → ToTensor → Normalize(mean, std)).
 *
 *   tensor value = (pixel * rescale_factor - mean[c]) / std[c]
 */
const triple = z.tuple([z.number(), z.number(), z.number()]);

/**
 * Caps on the sizes a model may declare (docs/multi-model.md): each image becomes
 * a resize_shorter_side² picture and a 3·crop_size² float tensor in every worker, so a model
 * directory must not be able to ask for gigabytes per image. Far above any classifier's input.
 */
export const MAX_CROP_SIZE = 1024;
export const MAX_RESIZE_SHORTER_SIDE = 2048;

/**
 * Every pixel value (0–255) maps to a finite float32, computed as the worker computes it
 * (preprocess/tensor.ts: a float32 scale and bias per channel). std 1e-300 or a rescale_factor
 * of 1e308 would make every input, and so every score, NaN.
 */
function finiteTensorValues(spec: { rescale_factor: number; mean: number[]; std: number[] }): boolean {
  return [0, 1, 2].every((c) => {
    const scale = Math.fround(spec.rescale_factor / spec.std[c]!);
    const bias = Math.fround(-spec.mean[c]! / spec.std[c]!);
    return [0, 255].every((pixel) => Number.isFinite(Math.fround(pixel * scale + bias)));
  });
}

export const modelSpecSchema = z
  .object({
    resize_shorter_side: z.number().int().positive().max(MAX_RESIZE_SHORTER_SIDE).default(256),
    crop_size: z.number().int().positive().max(MAX_CROP_SIZE).default(224),
    resample: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']).default('linear'),
    rescale_factor: z.number().positive().default(1 / 255),
    mean: triple.default([0.485, 0.456, 0.406]),
    std: triple
      .default([0.229, 0.224, 0.225])
      .refine((std) => std.every((s) => s !== 0), 'std values must be non-zero'),
    channel_order: z.enum(['RGB', 'BGR']).default('RGB'),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    /** Defaults to the graph's first input. */
    input_name: z.string().min(1).optional(),
    /** Defaults to an output named `probabilities`, else the graph's first output. */
    output_name: z.string().min(1).optional(),
    /** `auto`: softmax is applied unless the output already is a probability distribution. */
    apply_softmax: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  })
  .strict()
  .refine((spec) => spec.resize_shorter_side >= spec.crop_size, {
    message: 'resize_shorter_side must be at least crop_size',
  })
  .refine(finiteTensorValues, {
    message: 'rescale_factor, mean and std must map every pixel value (0-255) to a finite float32 number',
  });

export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** Distinct names: a repeated one would make two classes one key in the JSON answer. */
export const labelsSchema = z
  .array(z.string().min(1))
  .min(1)
  .refine((labels) => new Set(labels).size === labels.length, 'class names must be distinct');

export const DEFAULT_SPEC: ModelSpec = modelSpecSchema.parse({});

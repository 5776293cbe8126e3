/**
 * Serve the ImageNet-pretrained MobileNetV2 backbone (model/backbone/) as an ImageNet
 * classifier: image in, the five most likely of its 1,000 classes out. Uses all four hooks.
 *
 * Model dir: mobilenet_v2_1.0_224.onnx + imagenet_labels.txt + code/inference.js (this file).
 */
const { readFile } = require('node:fs/promises');
const path = require('node:path');
const { HandlerError, imagesToTensor, loadOnnxModel } = require('sagemaker-image-classification');

// The backbone's own input scaling (see its README): (pixel - 128) / 128, 224x224, RGB, NCHW.
/** @type {Partial<import('sagemaker-image-classification').PreprocessingRecipe>} */
const RECIPE = { resize_shorter_side: 256, crop_size: 224, rescale_factor: 1, mean: [128, 128, 128], std: [128, 128, 128] };

/** @param {string} modelDir */
exports.modelFn = async (modelDir) => {
  const onnx = await loadOnnxModel(path.join(modelDir, 'mobilenet_v2_1.0_224.onnx'));
  // 1,001 lines: index 0 is "background", ImageNet class k is line k + 1.
  const labels = (await readFile(path.join(modelDir, 'imagenet_labels.txt'), 'utf8')).trimEnd().split('\n');
  return { onnx, labels };
};

/** @type {import('sagemaker-image-classification').InferenceHandler['inputFn']} */
exports.inputFn = async (body, contentType) => {
  if (!contentType.startsWith('image/') && contentType !== 'application/x-image') {
    throw new HandlerError(415, `send an image (image/jpeg, image/png, ...), not ${contentType}`);
  }
  return imagesToTensor([body], RECIPE);
};

/** @type {import('sagemaker-image-classification').InferenceHandler['predictFn']} */
exports.predictFn = async (tensor, model) => {
  const { probs } = await model.onnx.run({ input: tensor }, ['probs']);
  return { probs: probs.data, labels: model.labels };
};

/** @type {import('sagemaker-image-classification').InferenceHandler['outputFn']} */
exports.outputFn = ({ probs, labels }, accept, ctx) => {
  const top5 = Array.from(probs, (probability, index) => ({ label: labels[index], probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, 5);
  // SageMaker passes X-Amzn-SageMaker-Custom-Attributes through both ways: echo it.
  if (ctx.customAttributes) ctx.setResponseHeader('X-Amzn-SageMaker-Custom-Attributes', ctx.customAttributes);
  if (accept.includes('text/csv')) {
    return { body: `label,probability\n${top5.map((row) => `"${row.label}",${row.probability}`).join('\n')}\n`, contentType: 'text/csv' };
  }
  if (!accept.includes('json') && !accept.includes('*/*')) throw new HandlerError(406, 'this model answers application/json or text/csv');
  return { body: JSON.stringify({ top5 }), contentType: 'application/json' };
};

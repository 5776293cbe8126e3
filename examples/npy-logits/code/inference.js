/**
 * Raw logits for a preprocessed tensor: POST an NPY float32 array of shape [N, 3, 224, 224]
 * (already scaled as the model expects) and get MobileNetV2's ImageNet logits, [N, 1001], back.
 * Only inputFn and predictFn are here: the built-in outputFn writes the array as JSON, CSV
 * or NPY, whichever Accept asks for.
 *
 * Model dir: mobilenet_v2_1.0_224.onnx + code/inference.js (this file).
 */
const path = require('node:path');
const { HandlerError, decodeNpy, loadOnnxModel } = require('sagemaker-image-classification');

/** @param {string} modelDir */
exports.modelFn = (modelDir) => loadOnnxModel(path.join(modelDir, 'mobilenet_v2_1.0_224.onnx'));

/** @type {import('sagemaker-image-classification').InferenceHandler['inputFn']} */
exports.inputFn = (body, contentType) => {
  if (contentType !== 'application/x-npy') throw new HandlerError(415, 'send application/x-npy');
  // decodeNpy refuses pickled object arrays and malformed bodies with a 400 of its own.
  const tensor = decodeNpy(body);
  const [, channels, height, width] = tensor.shape;
  if (tensor.dtype !== 'float32' || tensor.shape.length !== 4 || channels !== 3 || height !== 224 || width !== 224) {
    throw new HandlerError(422, `expected float32 [N, 3, 224, 224], got ${tensor.dtype} [${tensor.shape.join(', ')}]`);
  }
  return tensor;
};

/** @type {import('sagemaker-image-classification').InferenceHandler['predictFn']} */
exports.predictFn = async (tensor, model) => (await model.run({ input: tensor }, ['logits'])).logits;

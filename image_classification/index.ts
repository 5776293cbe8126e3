/**
 * The package's public API, for handler modules (`code/inference.js`):
 *
 *   const { HandlerError, loadOnnxModel, ndarray } = require('sagemaker-image-classification');
 *
 * Inside `serve` this name resolves from any model dir (serve puts it on NODE_PATH).
 */
export type { InferenceHandler, OutputResult, RequestContext, ResponseBody } from './handler/api';
export { HandlerError } from './errors';
export { decodeCsv, encodeCsv } from './codecs/csv';
export { elementCount, fromNested, ndarray, toNested, toNumbers, type DType, type NdArray, type TypedArray } from './codecs/ndarray';
export { decodeNpy, encodeNpy } from './codecs/npy';
export { decodeNpz } from './codecs/npz';
export { imagesToTensor } from './preprocess/batch';
export type { ModelSpec as PreprocessingRecipe } from './model/spec';
export { loadOnnxModel, type OnnxModel } from './runtime/onnx-model';

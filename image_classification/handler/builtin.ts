import { Classifications } from '../classifier/classifications';
import { Predictor, type PredictorOptions } from '../classifier/predictor';
import { encodePrediction, RESPONSE_TYPES, type ResponseType } from '../codecs/encoders';
import { decodeBody, type DecodedBody } from '../codecs/input';
import { negotiateResponseType } from '../codecs/negotiation';
import { isNdArray, type NdArray } from '../codecs/ndarray';
import { BadRequestError } from '../errors';
import type { Logger } from '../logger';
import { readModelBundle } from '../model/model-dir';
import type { InferenceHandler } from './api';

/** Pick the tensor for the model's input: by name, or the only one sent. */
function inputTensor(tensors: ReadonlyMap<string, NdArray>, inputName: string): NdArray {
  const named = tensors.get(inputName) ?? (tensors.size === 1 ? [...tensors.values()][0] : undefined);
  if (!named) {
    throw new BadRequestError(
      `the body holds tensors ${[...tensors.keys()].join(', ')}; name one after the model input '${inputName}'`,
      'wrong_input_name',
    );
  }
  return named;
}

/**
 * What the built-in predictFn takes: the built-in inputFn's result, or from a user inputFn
 * simply an encoded image (Buffer), a list of them, or a preprocessed tensor (NdArray).
 */
export type BuiltInInput = DecodedBody | Buffer | Buffer[] | NdArray;

function normalise(input: BuiltInInput): DecodedBody {
  if (Buffer.isBuffer(input)) return { kind: 'images', images: [input], isList: false };
  if (Array.isArray(input) && input.every((item) => Buffer.isBuffer(item))) return { kind: 'images', images: input, isList: true };
  if (isNdArray(input)) return { kind: 'tensors', tensors: new Map([['', input]]) };
  if (typeof input === 'object' && input !== null && 'kind' in input) return input;
  throw new Error('inputFn returned something the built-in predictFn cannot run: return a Buffer, a list of Buffers or an NdArray');
}

export type BuiltInHandler = Required<
  Pick<InferenceHandler<Predictor, BuiltInInput, unknown>, 'modelFn' | 'inputFn' | 'predictFn' | 'outputFn'>
>;

/**
 * The built-in hooks: the image classifier this product ships. Each is used for whichever
 * hook a user handler leaves out, so a handler can override only what it needs.
 */
export function builtInHandler(options: PredictorOptions, defaultAccept: ResponseType, logger: Logger): BuiltInHandler {
  return {
    modelFn: async (modelDir) => Predictor.load(await readModelBundle(modelDir), options, logger),
    inputFn: (body, contentType) => decodeBody(body, contentType),
    predictFn: async (raw, predictor, ctx) => {
      const { labels, inputName } = predictor.info;
      const input = normalise(raw);
      if (input.kind === 'images') return new Classifications(await predictor.predict(input.images, ctx.signal), input.isList, labels);
      const { rows, isList } = await predictor.predictTensor(inputTensor(input.tensors, inputName), ctx.signal);
      return new Classifications(rows, isList, labels);
    },
    outputFn: (prediction, accept) => {
      const type = negotiateResponseType(accept, RESPONSE_TYPES, defaultAccept);
      return { body: encodePrediction(prediction, type), contentType: type };
    },
  };
}

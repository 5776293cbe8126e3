import { Classifications, encodePrediction, RESPONSE_TYPES, type ResponseType } from '../codecs/encoders';
import { decodeBody, type DecodedBody } from '../codecs/input';
import type { NdArray } from '../codecs/ndarray';
import { BadRequestError } from '../errors';
import { negotiateResponseType } from '../http/negotiation';
import type { Logger } from '../logger';
import { readModelBundle } from '../model/model-dir';
import { Predictor, type PredictorOptions } from '../predictor';
import type { InferenceHandler } from './api';

/** Pick the tensor for the model's input: by name, or the only one sent. */
function inputTensor(tensors: ReadonlyMap<string, NdArray>, inputName: string): NdArray {
  const named = tensors.get(inputName) ?? (tensors.size === 1 ? [...tensors.values()][0] : undefined);
  if (!named) {
    throw new BadRequestError(`the body holds tensors ${[...tensors.keys()].join(', ')}; name one after the model input '${inputName}'`, 'wrong_input_name');
  }
  return named;
}

export type BuiltInHandler = Required<Pick<InferenceHandler<Predictor, DecodedBody, unknown>, 'modelFn' | 'inputFn' | 'predictFn' | 'outputFn'>>;

/**
 * The built-in hooks: the image classifier this product ships. Each is used for whichever
 * hook a user handler leaves out, so a handler can override only what it needs.
 */
export function builtInHandler(options: PredictorOptions, defaultAccept: ResponseType, logger: Logger): BuiltInHandler {
  return {
    modelFn: async (modelDir) => Predictor.load(await readModelBundle(modelDir), options, logger),
    inputFn: (body, contentType) => decodeBody(body, contentType),
    predictFn: async (input, predictor) => {
      const { labels, inputName } = predictor.info;
      if (input.kind === 'images') return new Classifications(await predictor.predict(input.images), input.isList, labels);
      const { rows, isList } = await predictor.predictTensor(inputTensor(input.tensors, inputName));
      return new Classifications(rows, isList, labels);
    },
    outputFn: (prediction, accept) => {
      const type = negotiateResponseType(accept, RESPONSE_TYPES, defaultAccept);
      return { body: encodePrediction(prediction, type), contentType: type };
    },
  };
}

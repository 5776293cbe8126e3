import express, { type RequestHandler } from 'express';
import multer from 'multer';
import type { Config } from '../config';
import { decodeJsonImages, type DecodedInput } from '../codecs/image-input';
import { ENCODERS, type ResponseType } from '../codecs/encoders';
import { BadRequestError, ModelNotReadyError, RequestTimeoutError } from '../errors';
import type { Predictor } from '../predictor';
import { Admission } from './admission';
import { inputKindOf, type InputKind } from './content-types';
import type { ModelState } from './model-state';
import { negotiateResponseType } from './negotiation';

interface InvocationLocals {
  predictor: Predictor;
  responseType: ResponseType;
  inputKind: InputKind;
}

function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(seconds)), seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Everything that can be refused without reading the body is checked first (model ready,
 * Accept, Content-Type, then capacity), so a bad request costs no upload and no decode.
 */
function checkRequest(state: ModelState, admission: Admission): RequestHandler {
  return (req, res, next) => {
    if (!state.predictor) throw new ModelNotReadyError();
    const locals: InvocationLocals = {
      predictor: state.predictor,
      responseType: negotiateResponseType(req.get('accept')),
      inputKind: inputKindOf(req.get('content-type')),
    };
    admission.admit(res);
    Object.assign(res.locals, locals);
    next();
  };
}

function readBody(config: Config): RequestHandler {
  const raw = express.raw({ type: () => true, limit: config.maxPayloadBytes });
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.maxPayloadBytes, files: 1, fields: 16, fieldSize: 64 * 1024, parts: 32 },
  }).any();
  return (req, res, next) => {
    if ((res.locals as InvocationLocals).inputKind !== 'multipart') return raw(req, res, next);
    // busboy reports a malformed body (bad boundary, unexpected end) as a plain Error: the
    // client's fault, so a 400, unless multer flagged it as a size limit (413, mapped later).
    multipart(req, res, (error?: unknown) => {
      if (!error || error instanceof multer.MulterError) return next(error);
      next(new BadRequestError(`invalid multipart body: ${(error as Error).message}`, 'invalid_multipart'));
    });
  };
}

function bodyImages(kind: InputKind, req: express.Request): DecodedInput {
  if (kind === 'multipart') {
    const file = (req.files as Express.Multer.File[] | undefined)?.[0];
    if (!file) throw new BadRequestError('the multipart body holds no file part', 'invalid_multipart');
    return { images: [file.buffer], isList: false };
  }
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (body.length === 0) throw new BadRequestError('the request body is empty', 'empty_body');
  return kind === 'json' ? decodeJsonImages(body) : { images: [body], isList: false };
}

function classify(config: Config): RequestHandler {
  return async (req, res) => {
    const { predictor, responseType, inputKind } = res.locals as InvocationLocals;
    const { images, isList } = bodyImages(inputKind, req);
    const predictions = await withTimeout(predictor.predict(images), config.timeoutSeconds);
    res.type(responseType).send(ENCODERS[responseType](isList ? predictions : predictions[0]!));
  };
}

export function invocationHandlers(config: Config, state: ModelState): RequestHandler[] {
  return [checkRequest(state, new Admission(config.maxQueue)), readBody(config), classify(config)];
}

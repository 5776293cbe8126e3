import express, { type RequestHandler } from 'express';
import multer from 'multer';
import type { Config } from '../config';
import { BadRequestError, ModelNotReadyError, RequestTimeoutError } from '../errors';
import type { HandlerPipeline } from '../handler/pipeline';
import { Admission } from './admission';
import type { ModelState } from './model-state';
import { requestContext } from './request-context';

interface InvocationLocals {
  pipeline: HandlerPipeline;
  contentType: string;
  accept: string;
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
    const pipeline = state.pipeline;
    if (!pipeline) throw new ModelNotReadyError();
    const locals: InvocationLocals = { pipeline, ...pipeline.requestTypes(req.get('content-type'), req.get('accept')) };
    admission.admit(res);
    Object.assign(res.locals, locals);
    next();
  };
}

/**
 * The body as bytes. A multipart upload (an HTML form, `curl -F`) is unwrapped: the hooks
 * see its first file part and that part's Content-Type, as if it had been posted alone.
 */
function readBody(config: Config): RequestHandler {
  const raw = express.raw({ type: () => true, limit: config.maxPayloadBytes });
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.maxPayloadBytes, files: 1, fields: 16, fieldSize: 64 * 1024, parts: 32 },
  }).any();
  return (req, res, next) => {
    const locals = res.locals as InvocationLocals;
    if (locals.contentType !== 'multipart/form-data') return raw(req, res, next);
    // busboy reports a malformed body (bad boundary, unexpected end) as a plain Error: the
    // client's fault, so a 400, unless multer flagged it as a size limit (413, mapped later).
    multipart(req, res, (error?: unknown) => {
      if (error && !(error instanceof multer.MulterError)) {
        return next(new BadRequestError(`invalid multipart body: ${(error as Error).message}`, 'invalid_multipart'));
      }
      if (error) return next(error);
      const file = (req.files as Express.Multer.File[] | undefined)?.[0];
      if (!file) return next(new BadRequestError('the multipart body holds no file part', 'invalid_multipart'));
      req.body = file.buffer;
      locals.contentType = file.mimetype && file.mimetype !== 'text/plain' ? file.mimetype.toLowerCase() : 'application/octet-stream';
      next();
    });
  };
}

function invoke(config: Config): RequestHandler {
  return async (req, res) => {
    const { pipeline, contentType, accept } = res.locals as InvocationLocals;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ctx = requestContext(req, res, pipeline.modelDir);
    const answer = await withTimeout(pipeline.invoke(body, contentType, accept, ctx), config.timeoutSeconds);
    res.type(answer.contentType).send(typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength));
  };
}

export function invocationHandlers(config: Config, state: ModelState): RequestHandler[] {
  return [checkRequest(state, new Admission(config.maxQueue)), readBody(config), invoke(config)];
}

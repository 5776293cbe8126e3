import express, { type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { Config } from '../config';
import { deadline } from '../deadline';
import {
  BadRequestError,
  ClientClosedRequestError,
  CompressedMultipartError,
  type InferenceError,
  PayloadTooLargeError,
  RequestTimeoutError,
} from '../errors';
import type { HandlerPipeline, HeldPipeline } from '../handler/pipeline';
import { Admission, type Slot, type WorkObserver } from './admission';
import { requestContext } from './request-context';
import { InvocationTiming, invocationTiming } from './invocation-timing';
import type { WorkerMetrics } from '../metrics/worker-metrics';
import { withStageTimes } from '../stage-timing';

interface InvocationLocals {
  pipeline: HandlerPipeline;
  contentType: string;
  accept: string;
  slot: Slot;
}

/**
 * The request's cancellation: aborted with a 504 reason at the timeout, or when the client
 * goes away before its answer. The pipeline stops at its next step; what is already running
 * (one decode, one ONNX Runtime run) finishes, and its slot is held until then.
 */
function cancellation(res: Response, seconds: number): { signal: AbortSignal; timedOut: Promise<never>; done: () => void } {
  const controller = new AbortController();
  const timeout = deadline(seconds, () => new RequestTimeoutError(seconds));
  timeout.expired.catch((error: unknown) => controller.abort(error));
  const clientLeft = () => {
    if (!res.writableFinished) controller.abort(new ClientClosedRequestError());
  };
  res.once('close', clientLeft);
  return {
    signal: controller.signal,
    timedOut: timeout.expired,
    done: () => {
      timeout.clear();
      res.off('close', clientLeft);
    },
  };
}

/** Where an invocation route finds the pipeline it runs. */
export type PipelineSource = (req: Request) => HeldPipeline | Promise<HeldPipeline>;

/**
 * Everything that can be refused without reading the body is checked first (model ready,
 * Accept, Content-Type, then capacity), so a bad request costs no upload and no decode.
 */
function checkRequest(source: PipelineSource, admission: Admission): RequestHandler {
  return async (req, res, next) => {
    const { pipeline, release } = await source(req);
    try {
      const locals: InvocationLocals = {
        pipeline,
        ...pipeline.requestTypes(req.get('content-type'), req.get('accept')),
        slot: admission.admit(res, release),
      };
      Object.assign(res.locals, locals);
    } catch (error) {
      release();
      throw error;
    }
    InvocationTiming.of(res)?.startBodyRead();
    next();
  };
}

/**
 * busboy reports a malformed body (bad boundary, unexpected end) as a plain Error, multer its
 * limits and a part without a name as a MulterError: all are the client's fault, a 400, but
 * a file over the payload limit, which is a 413.
 */
function multipartError(error: unknown, maxPayloadBytes: number): InferenceError {
  if (error instanceof multer.MulterError && error.code === 'LIMIT_FILE_SIZE') return new PayloadTooLargeError(maxPayloadBytes);
  if (error instanceof multer.MulterError && error.code === 'LIMIT_FIELD_VALUE') {
    return new BadRequestError(`a form field is over ${MULTIPART_FIELD_BYTES} bytes; send the image as a file part`, 'invalid_multipart');
  }
  return new BadRequestError(`invalid multipart body: ${(error as Error).message}`, 'invalid_multipart');
}

/** Form fields besides the file (names, captions): small, and never the image. */
const MULTIPART_FIELD_BYTES = 64 * 1024;

/**
 * The body as bytes. A multipart upload (an HTML form, `curl -F`) is unwrapped: the hooks
 * see its first file part and that part's Content-Type, as if it had been posted alone.
 */
function readBody(config: Config): RequestHandler {
  const raw = express.raw({ type: () => true, limit: config.maxPayloadBytes });
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.maxPayloadBytes, files: 1, fields: 16, fieldSize: MULTIPART_FIELD_BYTES, parts: 32 },
  }).any();
  return (req, res, next) => {
    const locals = res.locals as InvocationLocals;
    if (locals.contentType !== 'multipart/form-data') return raw(req, res, next);
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') return next(new CompressedMultipartError());
    multipart(req, res, (error?: unknown) => {
      if (error) return next(multipartError(error, config.maxPayloadBytes));
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
    const { pipeline, contentType, accept, slot } = res.locals as InvocationLocals;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const timing = InvocationTiming.of(res)!;
    timing.endBodyRead();
    const cancel = cancellation(res, config.timeoutSeconds);
    const ctx = requestContext(req, res, pipeline.modelDir, cancel.signal);
    // The body arrived through stream events, outside this request's async context: enter it here.
    const work = withStageTimes(timing.stages, () => pipeline.invoke(body, contentType, accept, ctx));
    slot.holdUntil(work);
    const answer = await Promise.race([work, cancel.timedOut]).finally(cancel.done);
    if (config.serverTiming) res.setHeader('Server-Timing', timing.header());
    res
      .type(answer.contentType)
      .send(
        typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength),
      );
  };
}

/**
 * The handlers of every invocation route of a worker, for a given way to find the pipeline.
 * One admission for all of them: MODEL_SERVER_MAX_QUEUE bounds the worker, whatever the route or model.
 */
export function invocationRoutes(
  config: Config,
  metrics: WorkerMetrics | undefined,
  work?: WorkObserver,
): (source: PipelineSource) => RequestHandler[] {
  const admission = new Admission(config.maxQueue, work);
  metrics?.trackAdmission(() => ({ inUse: admission.count, limit: config.maxQueue }));
  return (source) => [invocationTiming(metrics), checkRequest(source, admission), readBody(config), invoke(config)];
}

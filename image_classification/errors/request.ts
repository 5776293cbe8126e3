import zlib from 'node:zlib';
import { clip } from './clip';

/**
 * One error hierarchy for everything a request can fail with. Each class carries its HTTP
 * status and a stable machine-readable code; `toHttpError` is the single place that maps
 * anything thrown to what the client sees, so internals never leak.
 */
export class InferenceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends InferenceError {
  constructor(message: string, code = 'bad_request', options?: ErrorOptions) {
    super(400, code, message, options);
  }
}

export class InvalidImageError extends BadRequestError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'invalid_image', options);
  }
}

export class ImageTooLargeError extends BadRequestError {
  constructor(message: string) {
    super(message, 'image_too_large');
  }
}

export class PayloadTooLargeError extends InferenceError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `request body exceeds the limit of ${limitBytes} bytes`);
  }
}

export class TooManyRecordsError extends InferenceError {
  constructor(records: number, limit: number) {
    super(413, 'too_many_records', `the body holds ${records} records; at most ${limit} per request (lower MaxPayloadInMB)`);
  }
}

/** A batch-transform body whose records together hold more images than one request may: refused as a whole. */
export class TooManyImagesInRecordsError extends InferenceError {
  constructor(limit: number) {
    super(400, 'too_many_images', `the records of this body hold more than ${limit} images; at most ${limit} per request`);
  }
}

export class UnsupportedMediaTypeError extends InferenceError {
  constructor(contentType: string, supported: readonly string[]) {
    super(415, 'unsupported_media_type', `Content-Type '${clip(contentType)}' is not supported; use one of: ${supported.join(', ')}`);
  }
}

/** A multipart body is read part by part as it arrives, and nothing inflates it. */
export class CompressedMultipartError extends InferenceError {
  constructor() {
    super(
      415,
      'unsupported_content_encoding',
      'a multipart body must be sent without Content-Encoding; to compress an image, send it alone as the body',
    );
  }
}

export class NotAcceptableError extends InferenceError {
  constructor(accept: string, available: readonly string[], reason?: string) {
    super(
      406,
      'not_acceptable',
      `cannot answer with Accept '${clip(accept)}'${reason ? ` (${reason})` : ''}; available: ${available.join(', ')}`,
    );
  }
}

export class NotFoundError extends InferenceError {
  constructor(message = 'not found') {
    super(404, 'not_found', message);
  }
}

export class MethodNotAllowedError extends InferenceError {
  constructor(method: string, allowed: readonly string[]) {
    super(405, 'method_not_allowed', `method ${clip(method, 16)} is not allowed here; use ${allowed.join(', ')}`);
  }
}

export class RequestTimeoutError extends InferenceError {
  constructor(seconds: number) {
    super(504, 'timeout', `inference did not finish within ${seconds} s`);
  }
}

/** The client closed its connection before the answer: nobody reads this status (nginx's 499). */
export class ClientClosedRequestError extends InferenceError {
  constructor() {
    super(499, 'client_closed_request', 'the client closed the connection before the answer was ready');
  }
}

export class ModelNotReadyError extends InferenceError {
  /** `failure`: the load ended in it, so the model will not become ready (GET /ping says the same). */
  constructor(failure?: { code: string; reason: string }) {
    super(
      503,
      'model_not_ready',
      failure ? `the model failed to load (${failure.code}: ${failure.reason})` : 'the model is not loaded yet',
    );
  }
}

export class OverloadedError extends InferenceError {
  /** Seconds the client should wait before retrying (sent as Retry-After). */
  readonly retryAfterSeconds = 1;

  constructor(limit: number) {
    super(503, 'overloaded', `this worker already holds ${limit} requests; retry shortly`);
  }
}

const HANDLER_ERROR = Symbol.for('sagemaker-image-classification.HandlerError');

/**
 * What a user handler throws to answer with its own status (any 4xx/5xx) and message, e.g.
 * `throw new HandlerError(422, 'the tensor must be 3×224×224')`. Anything else a handler
 * throws is a 500 whose message does not reach the client.
 */
export class HandlerError extends InferenceError {
  readonly [HANDLER_ERROR] = true;

  constructor(status: number, message: string, code = 'handler_error') {
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new RangeError(`HandlerError status must be 400-599, got ${status}`);
    super(status, code, message);
  }
}

/** A HandlerError, also one from another copy of this package (a handler's own node_modules). */
export function isHandlerError(error: unknown): error is HandlerError {
  if (typeof error !== 'object' || error === null || !(HANDLER_ERROR in error)) return false;
  const { status, code, message } = error as HandlerError;
  return Number.isInteger(status) && status >= 400 && status <= 599 && typeof code === 'string' && typeof message === 'string';
}

export class InternalError extends InferenceError {
  constructor(options?: ErrorOptions) {
    super(500, 'internal_error', 'internal server error', options);
  }
}

export interface HttpErrorBody {
  error: { code: string; message: string };
}

/** Statuses that body-parser / http-errors attach to what they throw. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Map anything thrown while handling a request to a client-safe typed error. */
export function toHttpError(error: unknown, limits: { maxPayloadBytes: number }): InferenceError {
  if (error instanceof InferenceError) return error;
  if (isHandlerError(error)) return new InferenceError(error.status, error.code, error.message);
  const status = statusOf(error);
  if (status === 413) return new PayloadTooLargeError(limits.maxPayloadBytes);
  if (status === 400) return new BadRequestError('malformed request body');
  if (status === 415) return unsupportedBodyError(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return new InferenceError(status, 'bad_request', (error as Error).message);
  }
  return new InternalError({ cause: error });
}

/** What body-parser inflates: zstd too where Node's zlib has it (22.15 and later). */
const CONTENT_ENCODINGS = `identity, gzip, deflate, br${'createZstdDecompress' in zlib ? ' or zstd' : ''}`;

/** body-parser's 415s: a Content-Encoding (compress, …) or charset it cannot decode. */
function unsupportedBodyError(error: unknown): InferenceError {
  const { type, message } = error as { type?: unknown; message?: unknown };
  if (type === 'encoding.unsupported') {
    return new InferenceError(415, 'unsupported_content_encoding', `Content-Encoding must be ${CONTENT_ENCODINGS}`);
  }
  return new InferenceError(415, 'unsupported_media_type', clip(String(message), 200));
}

/** Longest message an error body carries: a handler's or a codec's message never becomes a large answer. */
const MAX_MESSAGE_LENGTH = 1000;

export function errorBody(error: InferenceError): HttpErrorBody {
  return { error: { code: error.code, message: clip(error.message, MAX_MESSAGE_LENGTH) } };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BadRequestError,
  errorBody,
  InternalError,
  InvalidImageError,
  NotAcceptableError,
  PayloadTooLargeError,
  toHttpError,
  UnsupportedMediaTypeError,
} from '../../image_classification/errors';

const limits = { maxPayloadBytes: 1024 };

test('typed errors keep their status and code', () => {
  assert.equal(toHttpError(new InvalidImageError('x'), limits).status, 400);
  assert.equal(toHttpError(new UnsupportedMediaTypeError('text/plain', ['image/jpeg']), limits).status, 415);
  assert.equal(toHttpError(new NotAcceptableError('image/png', ['application/json']), limits).status, 406);
  assert.deepEqual(errorBody(new InvalidImageError('broken')), { error: { code: 'invalid_image', message: 'broken' } });
});

test("body-parser's limit becomes 413 (multer's are typed where multer is called)", () => {
  const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });
  assert.ok(toHttpError(tooLarge, limits) instanceof PayloadTooLargeError);
});

test('unknown errors are a 500 that reveals nothing', () => {
  const mapped = toHttpError(new TypeError("Cannot read properties of undefined (reading 'secret')"), limits);
  assert.ok(mapped instanceof InternalError);
  assert.equal(mapped.status, 500);
  assert.doesNotMatch(JSON.stringify(errorBody(mapped)), /secret|TypeError/);
  assert.ok(toHttpError(Object.assign(new Error('bad'), { status: 400 }), limits) instanceof BadRequestError);
});

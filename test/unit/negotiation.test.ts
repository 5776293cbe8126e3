import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputKindOf, mediaTypeOf } from '../../image_classification/http/content-types';
import { negotiateResponseType } from '../../image_classification/http/negotiation';
import { NotAcceptableError, UnsupportedMediaTypeError } from '../../image_classification/errors';

test('Accept: absent, wildcards and q-values', () => {
  assert.equal(negotiateResponseType(undefined), 'application/json');
  assert.equal(negotiateResponseType(''), 'application/json');
  assert.equal(negotiateResponseType('*/*'), 'application/json');
  assert.equal(negotiateResponseType('application/*'), 'application/json');
  assert.equal(negotiateResponseType('text/csv'), 'text/csv');
  assert.equal(negotiateResponseType('application/json;q=0.5, text/csv'), 'text/csv');
  assert.equal(negotiateResponseType('image/png, application/json;q=0.1'), 'application/json');
  assert.throws(() => negotiateResponseType('image/png'), NotAcceptableError);
  assert.throws(() => negotiateResponseType('application/json;q=0'), NotAcceptableError);
});

test('Content-Type: parameters and case are tolerated', () => {
  assert.equal(mediaTypeOf('Image/JPEG; charset=utf-8'), 'image/jpeg');
  assert.equal(inputKindOf('application/x-image'), 'image');
  assert.equal(inputKindOf('image/webp'), 'image');
  assert.equal(inputKindOf('application/octet-stream'), 'image');
  assert.equal(inputKindOf('multipart/form-data; boundary=abc'), 'multipart');
  assert.equal(inputKindOf('application/json; charset=utf-8'), 'json');
});

test('Content-Type: missing, malformed or unsupported is 415', () => {
  for (const header of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'not a type']) {
    assert.throws(() => inputKindOf(header), UnsupportedMediaTypeError, String(header));
  }
});

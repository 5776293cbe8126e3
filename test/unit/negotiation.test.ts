import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputKindOf, mediaTypeOf } from '../../image_classification/codecs/content-types';
import { RESPONSE_TYPES } from '../../image_classification/codecs/encoders';
import { negotiateResponseType } from '../../image_classification/http/negotiation';
import { NotAcceptableError, UnsupportedMediaTypeError } from '../../image_classification/errors';

const negotiate = (accept: string | undefined) => negotiateResponseType(accept, RESPONSE_TYPES, 'application/json');

test('Accept: absent, wildcards and q-values', () => {
  assert.equal(negotiate(undefined), 'application/json');
  assert.equal(negotiate(''), 'application/json');
  assert.equal(negotiate('*/*'), 'application/json');
  assert.equal(negotiate('application/*'), 'application/json');
  assert.equal(negotiate('text/csv'), 'text/csv');
  assert.equal(negotiate('application/json;q=0.5, text/csv'), 'text/csv');
  assert.equal(negotiate('image/png, application/json;q=0.1'), 'application/json');
  assert.throws(() => negotiate('image/png'), NotAcceptableError);
  assert.throws(() => negotiate('application/json;q=0'), NotAcceptableError);
  assert.equal(negotiate('application/x-npy'), 'application/x-npy');
});

test('Accept: wildcards and no Accept prefer the configured default', () => {
  for (const accept of [undefined, '*/*', 'text/*, application/*']) {
    assert.equal(negotiateResponseType(accept, RESPONSE_TYPES, 'text/csv'), 'text/csv', String(accept));
  }
  assert.equal(negotiateResponseType('application/*', RESPONSE_TYPES, 'application/x-npy'), 'application/x-npy');
  assert.equal(negotiateResponseType('application/json, */*;q=0.1', RESPONSE_TYPES, 'text/csv'), 'application/json');
});

test('Content-Type: parameters and case are tolerated', () => {
  assert.equal(mediaTypeOf('Image/JPEG; charset=utf-8'), 'image/jpeg');
  assert.equal(inputKindOf('application/x-image'), 'image');
  assert.equal(inputKindOf('image/webp'), 'image');
  assert.equal(inputKindOf('application/octet-stream'), 'image');
  assert.equal(inputKindOf('multipart/form-data; boundary=abc'), 'multipart');
  assert.equal(inputKindOf('application/json; charset=utf-8'), 'json');
  assert.equal(inputKindOf('Text/CSV; charset=utf-8'), 'csv');
  assert.equal(inputKindOf('application/x-npy'), 'npy');
  assert.equal(inputKindOf('application/x-npz'), 'npz');
});

test('Content-Type: missing, malformed or unsupported is 415', () => {
  for (const header of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'not a type']) {
    assert.throws(() => inputKindOf(header), UnsupportedMediaTypeError, String(header));
  }
});

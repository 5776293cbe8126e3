import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputKindOf, mediaTypeOf } from '../../image_classification/codecs/content-types';
import { RESPONSE_TYPES } from '../../image_classification/codecs/encoders';
import { negotiateResponseType } from '../../image_classification/codecs/negotiation';
import { NotAcceptableError, UnsupportedMediaTypeError } from '../../image_classification/errors';

const negotiate = (accept: string | undefined) => negotiateResponseType(accept, RESPONSE_TYPES, 'application/json');

test('Accept: absent, wildcards and q-values', () => {
  const chosen: [string | undefined, string][] = [
    [undefined, 'application/json'],
    ['', 'application/json'],
    ['*/*', 'application/json'],
    ['application/*', 'application/json'],
    ['text/csv', 'text/csv'],
    ['application/json;q=0.5, text/csv', 'text/csv'],
    ['image/png, application/json;q=0.1', 'application/json'],
    ['application/x-npy', 'application/x-npy'],
  ];
  for (const [accept, type] of chosen) assert.equal(negotiate(accept), type, String(accept));
  for (const accept of ['image/png', 'application/json;q=0']) assert.throws(() => negotiate(accept), NotAcceptableError, accept);
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
  const kinds: [string, string][] = [
    ['application/x-image', 'image'],
    ['image/webp', 'image'],
    ['application/octet-stream', 'image'],
    ['multipart/form-data; boundary=abc', 'multipart'],
    ['application/json; charset=utf-8', 'json'],
    ['Text/CSV; charset=utf-8', 'csv'],
    ['application/x-npy', 'npy'],
    ['application/x-npz', 'npz'],
  ];
  for (const [header, kind] of kinds) assert.equal(inputKindOf(header), kind, header);
});

test('Content-Type: missing, malformed or unsupported is 415', () => {
  for (const header of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'not a type']) {
    assert.throws(() => inputKindOf(header), UnsupportedMediaTypeError, String(header));
  }
});

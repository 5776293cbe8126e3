import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Classifications } from '../../image_classification/classifier/classifications';
import { encodePrediction } from '../../image_classification/codecs/encoders';
import { decodeJsonImages, parseJsonBody } from '../../image_classification/codecs/image-input';
import { MAX_IMAGES_PER_REQUEST } from '../../image_classification/codecs/limits';
import { BadRequestError } from '../../image_classification/errors';
import { isDistribution, softmax, toPrediction } from '../../image_classification/classifier/classify';

test('softmax is stable for large logits and sums to one', () => {
  const p = softmax([1000, 1001, 1002]);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(Math.abs(p[2]! - 1 / (1 + Math.exp(-1) + Math.exp(-2))) < 1e-12);
});

test('toPrediction picks the top class and names every probability', () => {
  const prediction = toPrediction(Float32Array.from([0.1, 0.7, 0.2]), ['glass', 'paper', 'plastic'], false);
  assert.equal(prediction.class, 'paper');
  assert.ok(Math.abs(prediction.probability - 0.7) < 1e-6);
  assert.deepEqual(Object.keys(prediction.probabilities), ['glass', 'paper', 'plastic']);
  assert.equal(toPrediction([2, 0, 1], ['a', 'b', 'c'], true).class, 'a');
  assert.ok(isDistribution([0.2, 0.8]));
  assert.ok(!isDistribution([2, -1]));
  assert.ok(!isDistribution([0.2, 0.2]));
});

test('JSON image bodies: one, a list, and the wrapped forms', () => {
  const b64 = Buffer.from('abc').toString('base64');
  assert.deepEqual(decodeJsonImages(b64), { images: [Buffer.from('abc')], isList: false });
  assert.equal(decodeJsonImages({ image: `data:image/png;base64,${b64}` }).images[0]!.toString(), 'abc');
  assert.equal(decodeJsonImages([b64, b64]).images.length, 2);
  const instances = decodeJsonImages({ instances: [{ b64 }, b64] });
  assert.equal(instances.isList, true);
  assert.equal(instances.images.length, 2);
});

test('JSON image bodies: malformed ones are 400s with a reason', () => {
  assert.throws(() => parseJsonBody(Buffer.from('{')), BadRequestError);
  const bad = [
    '42',
    '{"images": []}',
    '{"image": 5}',
    '{"image": "***"}',
    '{"other": "x"}',
    JSON.stringify(Array(MAX_IMAGES_PER_REQUEST + 1).fill('YQ==')),
  ];
  for (const body of bad) assert.throws(() => decodeJsonImages(JSON.parse(body)), BadRequestError, body.slice(0, 30));
});

test('classification encoders: CSV header and quoting, JSON one-or-list, NPY probabilities', () => {
  const row = { class: 'a,b', probability: 0.5, probabilities: { 'a,b': 0.5, c: 0.5 } };
  const labels = ['a,b', 'c'];
  assert.equal(
    encodePrediction(new Classifications([row, row], true, labels), 'text/csv'),
    'class,probability,"a,b",c\n"a,b",0.5,0.5,0.5\n"a,b",0.5,0.5,0.5\n',
  );
  assert.equal(encodePrediction(new Classifications([row], false, labels), 'application/json'), JSON.stringify({ predictions: row }));
  assert.equal(encodePrediction(new Classifications([row], true, labels), 'application/json'), JSON.stringify({ predictions: [row] }));
  const npy = encodePrediction(new Classifications([row, row], true, labels), 'application/x-npy') as Buffer;
  assert.match(npy.subarray(10, 80).toString('latin1'), /'shape': \(2, 2\)/);
});

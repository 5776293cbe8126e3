import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { imagesToTensor } from '../../image_classification';
import { MAX_RECORDS_PER_REQUEST } from '../../image_classification/codecs/limits';
import { startServe, type Served } from '../../harness/serve-process';
import { sample, shippedBundle } from '../../harness/helpers';

/**
 * What a batch transform job sends a container (SplitType=Line, BatchStrategy=MULTI_RECORD),
 * through the real serve: many records per request, one answer line per record, in order, a
 * bad record answering its own error line.
 */

let served: Served;
before(async () => {
  served = await startServe({});
});
after(() => served?.killAll());

interface Line {
  predictions?: { class: string };
  error?: { code: string; message: string; status: number };
}

const transform = async (body: Buffer | string, contentType: string, accept = 'application/jsonlines') => {
  const res = await fetch(`${served.url}/invocations`, { method: 'POST', body, headers: { 'Content-Type': contentType, Accept: accept } });
  return { res, text: await res.text() };
};

const lines = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);

test('GET /execution-parameters: one transform per worker, multi-record, the payload limit', async () => {
  const res = await fetch(`${served.url}/execution-parameters`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { MaxConcurrentTransforms: 2, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 });
});

test('JSON Lines: good and bad records each get their line, in order', async () => {
  const [glass, paper, plastic] = await Promise.all(['glass.jpg', 'paper.jpg', 'plastic.jpg'].map(sample));
  const records = [
    JSON.stringify(glass!.toString('base64')),
    'not json',
    JSON.stringify({ b64: paper!.toString('base64') }),
    JSON.stringify('AAAA'),
    '',
    JSON.stringify({ image: plastic!.toString('base64') }),
    JSON.stringify([1, 2, 3]),
  ];
  const { res, text } = await transform(`${records.join('\r\n')}\n`, 'application/jsonlines');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/jsonlines; charset=utf-8');
  const answers = lines(text);
  assert.equal(answers.length, records.length);
  assert.deepEqual(
    answers.map((line) => line.predictions?.class ?? line.error?.code),
    ['glass', 'invalid_json', 'paper', 'invalid_image', 'empty_body', 'plastic', 'wrong_shape'],
  );
  for (const line of answers.filter((answer) => answer.error)) assert.equal(line.error!.status, 400);
});

test('CSV rows (one preprocessed image each) answer as JSON Lines, a bad row on its own line', async () => {
  const { spec } = await shippedBundle();
  const glass = await sample('glass.jpg');
  const tensor = await imagesToTensor([glass], spec);
  const row = Array.from(tensor.data as Float32Array, (value) => value.toFixed(4)).join(',');
  const { res, text } = await transform(`${row}\n1,2,x\n`, 'text/csv');
  assert.equal(res.status, 200);
  const [good, bad] = lines(text);
  assert.equal(good!.predictions!.class, 'glass');
  assert.equal(bad!.error!.code, 'invalid_csv');
  // Without JSON Lines in Accept, a CSV body is one tensor, as before.
  assert.equal((await transform(`${row}\n`, 'text/csv', 'application/json')).res.status, 200);
});

test('refused as a whole: an Accept that excludes JSON Lines, and more records than the limit', async () => {
  assert.equal((await transform('"AAAA"\n', 'application/jsonlines', 'text/csv')).res.status, 406);
  const tooMany = await transform('1\n'.repeat(MAX_RECORDS_PER_REQUEST + 1), 'application/jsonlines');
  assert.equal(tooMany.res.status, 413);
  assert.equal((JSON.parse(tooMany.text) as Line).error!.code, 'too_many_records');
});

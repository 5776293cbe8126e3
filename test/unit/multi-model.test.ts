import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checkModelName, resolveInsideRoot, targetModelName } from '../../image_classification/multi-model/names';
import { RegistryView, writeRegistry } from '../../image_classification/multi-model/registry-file';
import { recordFormatOf, splitRecords } from '../../image_classification/codecs/records';
import { MAX_RECORDS_PER_REQUEST } from '../../image_classification/codecs/limits';

const code = (expected: string) => (error: unknown) => (error as { code?: string }).code === expected;

test('model names: SageMaker-style tokens pass; paths, blanks and oversized names do not', () => {
  for (const name of ['trash', 'a1b2c3d4e5', 'model-v2.1_final', 'x'.repeat(256)]) assert.equal(checkModelName(name), name);
  for (const name of ['', '.', '..', '../x', 'a/b', '-x', 'x'.repeat(257), 'a b', 'a%2Fb', 42, undefined]) {
    assert.throws(() => checkModelName(name), code('invalid_model_name'), String(name));
  }
  // The whole TargetModel is the name: foo.tar.gz and foo are two models.
  assert.equal(targetModelName('foo.tar.gz'), 'foo.tar.gz');
  assert.equal(targetModelName('foo'), 'foo');
  assert.throws(() => targetModelName(undefined), code('target_model_missing'));
  assert.throws(() => targetModelName('../foo.tar.gz'), code('invalid_model_name'));
});

test('model locations must resolve inside the root, symlinks followed', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'root-'));
  const outside = await mkdtemp(path.join(os.tmpdir(), 'outside-'));
  await mkdir(path.join(root, 'a', 'model'), { recursive: true });
  await symlink(outside, path.join(root, 'out'));
  await symlink(path.join(root, 'a'), path.join(root, 'alias'));
  assert.equal(await resolveInsideRoot(root, 'a/model'), path.join(root, 'a', 'model'));
  assert.equal(await resolveInsideRoot(root, path.join(root, 'a', 'model')), path.join(root, 'a', 'model'));
  assert.equal(await resolveInsideRoot(root, 'alias/model'), path.join(root, 'a', 'model'));
  // Missing behind a link out of the root is "outside" too: no answer tells what exists there.
  for (const location of ['out', 'out/missing', 'out/missing/deeper', 'a/../..', outside, '/', '/etc/shadow', '/root/nothing', '.', root]) {
    await assert.rejects(resolveInsideRoot(root, location), code('model_url_outside_root'), location);
  }
  await assert.rejects(resolveInsideRoot(root, 'missing'), code('model_not_found'));
  await assert.rejects(resolveInsideRoot(root, 'a/missing/deeper'), code('model_not_found'));
  await assert.rejects(resolveInsideRoot(path.join(root, 'no-root'), 'a'), code('model_not_found'));
  for (const location of ['', 'a\0b', 7]) await assert.rejects(resolveInsideRoot(root, location), code('invalid_model_url'));
});

test('a worker sees each change of the registry file, also two within one millisecond', async () => {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'registry-')), 'models.json');
  const view = new RegistryView(file);
  assert.equal(view.current().size, 0);
  const entry = (name: string, generation: number) => ({ name, url: name, dir: `/m/${name}`, generation });
  writeRegistry(file, [entry('a', 1)]);
  assert.deepEqual([...view.current().keys()], ['a']);
  writeRegistry(file, [entry('a', 1), entry('b', 2)]);
  writeRegistry(file, [entry('b', 2)]);
  assert.deepEqual([...view.current().keys()], ['b']);
  writeRegistry(file, [entry('b', 3)]);
  assert.equal(view.current().get('b')!.generation, 3);
});

test('records: JSON Lines always, CSV rows only when the Accept prefers JSON Lines', () => {
  assert.equal(recordFormatOf('application/jsonlines', undefined), 'jsonlines');
  assert.equal(recordFormatOf('application/x-jsonlines', 'application/json'), 'jsonlines');
  assert.equal(recordFormatOf('text/csv', 'application/jsonlines'), 'csv');
  assert.equal(recordFormatOf('text/csv', 'application/jsonlines, text/csv'), 'csv');
  assert.equal(recordFormatOf('text/csv', 'text/csv;q=0.5, application/x-jsonlines'), 'csv');
  // q-values: JSON Lines refused, or less wanted than one answer; a wildcard is not a request for records.
  assert.equal(recordFormatOf('text/csv', 'application/jsonlines;q=0, application/json'), undefined);
  assert.equal(recordFormatOf('text/csv', 'text/csv, application/jsonlines;q=0.5'), undefined);
  assert.equal(recordFormatOf('text/csv', '*/*'), undefined);
  assert.equal(recordFormatOf('text/csv', 'application/json'), undefined);
  assert.equal(recordFormatOf('text/csv', undefined), undefined);
  assert.equal(recordFormatOf('application/json', 'application/jsonlines'), undefined);
});

test('records: one per line, CRLF and a final line break handled, counted before they are cut', () => {
  const bodies = (text: string) => splitRecords(Buffer.from(text), 'jsonlines').map((record) => record.body.toString());
  assert.deepEqual(bodies('a\nb\n'), ['a', 'b']);
  assert.deepEqual(bodies('a\r\nb'), ['a', 'b']);
  assert.deepEqual(bodies('a\n\nb\n'), ['a', '', 'b']);
  assert.deepEqual(bodies('\n'), ['']);
  assert.equal(splitRecords(Buffer.from('1,2\n'), 'csv')[0]!.contentType, 'text/csv');
  assert.equal(splitRecords(Buffer.from('x\n'.repeat(MAX_RECORDS_PER_REQUEST)), 'jsonlines').length, MAX_RECORDS_PER_REQUEST);
  assert.throws(() => splitRecords(Buffer.from('\n'.repeat(MAX_RECORDS_PER_REQUEST + 1)), 'jsonlines'), code('too_many_records'));
});

import assert from 'node:assert/strict';
import { cp, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveModelDir } from '../../image_classification/model/model-dir';
import { SHIPPED_ARCHIVE } from '../../harness/helpers';

test('an empty /opt/ml/model (a platform given no model) falls back to the shipped model; one with an archive is served', async () => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'opt-ml-model-'));
  const fallback = await resolveModelDir(undefined, undefined, empty);
  assert.equal(fallback.source, 'shipped');
  const given = await mkdtemp(path.join(os.tmpdir(), 'opt-ml-model-'));
  await cp(SHIPPED_ARCHIVE, path.join(given, 'model.tar.gz'));
  const resolved = await resolveModelDir(undefined, undefined, given);
  assert.equal(resolved.source, 'opt_ml_model');
  assert.equal(resolved.unpacked, true);
  assert.equal((await resolveModelDir(undefined, undefined, path.join(empty, 'absent'))).source, 'shipped');
});

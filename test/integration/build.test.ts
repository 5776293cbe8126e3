import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../../harness/helpers';

/**
 * The build is incremental (tsc --build) and never empties dist/, so a running server keeps
 * its code. What it does delete first: the outputs of sources that no longer exist, which
 * `npm test` would otherwise still run.
 */
test('the build prunes outputs of deleted sources and keeps every other file in dist/', async () => {
  const dist = path.join(ROOT, 'dist');
  const stale = [
    path.join(dist, 'test', 'unit', 'zz-deleted-source.test.js'),
    path.join(dist, 'test', 'unit', 'zz-deleted-source.test.d.ts'),
    path.join(dist, 'test', 'unit', 'zz-deleted-source.test.js.map'),
    path.join(dist, 'zz-deleted-folder', 'gone.js'),
  ];
  for (const file of stale) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '');
  }
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'prune-dist.mjs')]);
  for (const file of stale) assert.ok(!existsSync(file), `${path.relative(ROOT, file)} is pruned`);
  assert.ok(!existsSync(path.join(dist, 'zz-deleted-folder')), 'an emptied folder goes too');
  for (const kept of [
    'image_classification/serve.js',
    'image_classification/serve.d.ts',
    'test/integration/build.test.js',
    'tsconfig.tsbuildinfo',
  ]) {
    assert.ok(existsSync(path.join(dist, kept)), `${kept} stays`);
  }
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ROOT } from '../../harness/helpers';

test('the example handlers type-check (JSDoc) against the types the package publishes', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'examples-tsc-'));
  const tsconfig = {
    compilerOptions: {
      allowJs: true,
      checkJs: true,
      noEmit: true,
      strict: true,
      module: 'node16',
      moduleResolution: 'node16',
      target: 'ES2022',
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
      // As a handler resolves it under serve: the package's public entry (dist/, built by pretest).
      paths: { 'sagemaker-image-classification': [path.join(ROOT, 'dist', 'image_classification', 'index.d.ts')] },
    },
    files: ['imagenet-top5', 'npy-logits'].map((example) => path.join(ROOT, 'examples', example, 'code', 'inference.js')),
  };
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).catch((error: { stdout: string; code: number }) => error);
  assert.equal('code' in result ? result.code : 0, 0, 'stdout' in result ? result.stdout : '');
});
